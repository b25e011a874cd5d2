import Foundation

/// What `todo config` prints: every setting the role read, in README's order, with the value it
/// took (secrets hidden) and where that value came from.
public enum ConfigurationReport {
    public static func text(role: Role, reads: [String: ResolvedValue?]) -> String {
        let rows = SettingsCatalog.all.flatMap { $0.names + $0.aliases }.compactMap { name -> [String]? in
            guard let read = reads[name] else { return nil }
            guard let read else { return [name, "unset", "default"] }
            return [name, shown(name, read.text), describe(read.source, name: name)]
        }
        let widths = (0..<2).map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            row[0].padding(toLength: widths[0] + 2, withPad: " ", startingAt: 0) + row[1].padding(toLength: widths[1] + 2, withPad: " ", startingAt: 0) + row[2]
        }
        return (["# todo \(role.rawValue): the settings it reads (flags, then the environment, the config file, .env, defaults)"] + lines)
            .joined(separator: "\n")
    }

    /// A secret never leaves the process: a URL keeps all but its password, anything else only
    /// says that it is set.
    static func shown(_ name: String, _ text: String) -> String {
        guard SettingsCatalog.secretNames.contains(name) else { return text }
        guard var url = URLComponents(string: text), url.scheme != nil, url.host != nil else { return "(secret, \(text.count) characters)" }
        if url.password != nil { url.password = "redacted" }
        url.queryItems = url.queryItems?.map { $0.name == "password" ? URLQueryItem(name: $0.name, value: "redacted") : $0 }
        return url.string ?? "(secret)"
    }

    static func describe(_ source: SettingSource, name: String) -> String {
        switch source {
        case .flag: "flag --" + name.lowercased().replacingOccurrences(of: "_", with: "-")
        case .environment: "environment"
        case .configFile(let path): "config file \(path)"
        case .dotEnv(let path): path
        case .generated(let path): "generated, kept in \(path)"
        case .default: "default"
        }
    }
}
