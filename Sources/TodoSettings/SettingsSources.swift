import Configuration
import Foundation
import SystemPackage
import TodoCore

/// Where a setting's value came from, as `todo config` reports it.
public enum SettingSource: Sendable, Equatable {
    case flag
    case environment
    case configFile(String)
    case dotEnv(String)
    /// `todo serve`'s secret, made on first start and kept in the data directory.
    case generated(String)
    case `default`
}

/// A setting's text and the layer it came from.
public struct ResolvedValue: Sendable, Equatable {
    public var text: String
    public var source: SettingSource
}

/// The layers settings are read from, highest precedence first: command-line flags, the
/// environment, the config file (`TODO_CONFIG_FILE` or `--config-file`), and `./.env` for the
/// commands people run by hand. Every setting has one key in all of them: `DATABASE_POOL_SIZE` is
/// the flag `--database-pool-size` and the file's `database.pool.size`. swift-configuration's
/// providers parse each layer; this type only orders them and refuses names nobody reads.
public enum SettingsSources {
    public static let dotEnvPath = ".env"

    /// Reads every known setting from the layers once, at start-up: the command line's setting
    /// flags (`--port 8080`, `--access-log=false`), then `environment`, then `configFile`
    /// (`--config-file`, which wins over `TODO_CONFIG_FILE`), then `dotEnvFile` (`./.env` for the
    /// commands people run by hand, nil for the roles; a missing file is no error). It throws `ConfigurationError` for an unknown flag or file
    /// key, and for a file that cannot be read.
    public static func resolve(
        flags: [String] = [], configFile: String? = nil, dotEnvFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> [String: ResolvedValue] {
        let flagLayer = CommandLineArgumentsProvider(arguments: ["todo"] + (try checkedFlags(flags)))
        var layers: [(SettingSource, any ConfigProvider)] = [
            (.flag, flagLayer), (.environment, EnvironmentVariablesProvider(environmentVariables: environment)),
        ]
        var dotEnvLayer: EnvironmentVariablesProvider?
        if let dotEnvFile { dotEnvLayer = try await dotEnvProvider(dotEnvFile) }
        let namedFile = try configFile ?? flagLayer.text("TODO_CONFIG_FILE") ?? nonEmpty(environment["TODO_CONFIG_FILE"])
        if let path = try namedFile ?? dotEnvLayer?.text("TODO_CONFIG_FILE") {
            layers.append((.configFile(path), try await configFileProvider(path)))
        }
        if let dotEnvFile, let dotEnvLayer { layers.append((.dotEnv(dotEnvFile), dotEnvLayer)) }
        var resolved: [String: ResolvedValue] = [:]
        for name in SettingsCatalog.names {
            for (source, provider) in layers {
                if let text = try provider.text(name) {
                    resolved[name] = ResolvedValue(text: text, source: source)
                    break
                }
            }
        }
        return resolved
    }

    /// Setting flags are `--name value`, `--name=value` or `--name` alone (true), and name a
    /// setting README lists: a misspelt flag stops the start instead of being ignored.
    static func checkedFlags(_ flags: [String]) throws -> [String] {
        var checked: [String] = []
        var expectsValue = false
        for argument in flags {
            guard argument.hasPrefix("--") else {
                guard expectsValue else { throw ConfigurationError("unexpected argument '\(argument)': settings are flags such as --port 8080") }
                checked.append(argument)
                expectsValue = false
                continue
            }
            if expectsValue { checked[checked.count - 1] += "=true" }
            let flag = argument.dropFirst(2).split(separator: "=", maxSplits: 1)
            let name = flag.first.map { $0.uppercased().replacingOccurrences(of: "-", with: "_") } ?? ""
            guard SettingsCatalog.names.contains(name) else {
                let shown = argument.split(separator: "=")[0]
                throw ConfigurationError("unknown setting \(shown): every setting of README's table is a flag, such as --database-pool-size")
            }
            checked.append(argument)
            expectsValue = flag.count == 1
        }
        if expectsValue { checked[checked.count - 1] += "=true" }
        return checked
    }

    private static func dotEnvProvider(_ path: String) async throws -> EnvironmentVariablesProvider {
        do {
            return try await EnvironmentVariablesProvider(environmentFilePath: FilePath(path), allowMissing: true)
        } catch {
            throw ConfigurationError("\(path) cannot be read: \(error)")
        }
    }

    private static func configFileProvider(_ path: String) async throws -> FileProvider<JSONSnapshot> {
        let provider: FileProvider<JSONSnapshot>
        do {
            provider = try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
        } catch {
            throw ConfigurationError("TODO_CONFIG_FILE \(path) cannot be used: \(error)")
        }
        let unknown = try fileKeys(path).filter { !SettingsCatalog.names.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw ConfigurationError("TODO_CONFIG_FILE \(path) has keys no setting has: \(unknown.joined(separator: ", ")) (README, Configuration)")
        }
        return provider
    }

    /// The file's keys as setting names (`database.pool.size` and nested objects alike are
    /// `DATABASE_POOL_SIZE`). The provider has no list of its keys, so the file is read again here.
    private static func fileKeys(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw ConfigurationError("TODO_CONFIG_FILE \(path) must hold a JSON object") }
        var names: [String] = []
        var pending: [(String, Any)] = root.map { ($0.key, $0.value) }
        while let (key, value) = pending.popLast() {
            if let object = value as? [String: Any] {
                pending += object.map { (key + "." + $0.key, $0.value) }
            } else {
                names.append(key.uppercased().replacingOccurrences(of: ".", with: "_"))
            }
        }
        return names
    }

    private static func nonEmpty(_ text: String?) -> String? {
        text?.isEmpty == false ? text : nil
    }
}

extension ConfigProvider {
    /// The setting's value as text, whatever type the layer stores (a JSON file holds numbers and
    /// booleans); nil when unset or empty. The roles parse and range-check the text themselves,
    /// so that every layer gets the same checks and the same messages.
    func text(_ name: String) throws -> String? {
        let key = AbsoluteConfigKey(name.lowercased().split(separator: "_").map(String.init))
        var mismatch = false
        for type in [ConfigType.string, .int, .double, .bool, .stringArray] {
            let content: ConfigContent?
            do {
                content = try value(forKey: key, type: type).value?.content
            } catch {
                mismatch = true
                continue
            }
            switch content {
            case .string(let text): return text.isEmpty ? nil : text
            case .int(let number): return String(number)
            case .double(let number): return String(number)
            case .bool(let flag): return String(flag)
            // `--trusted-proxies 10.0.0.0/8,fd00::/8` and a file's list: the comma-separated text
            // the list settings parse.
            case .stringArray(let values): return values.isEmpty ? nil : values.joined(separator: ",")
            default: continue
            }
        }
        guard !mismatch else { throw ConfigurationError("\(name) must be a string, a number or a boolean in \(providerName)") }
        return nil
    }
}
