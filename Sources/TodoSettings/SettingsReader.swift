import Foundation
import Synchronization
import TodoCore
import TodoAPI
import TodoServer

/// Reads typed settings from the resolved layers (flags, environment, config file, `.env`). Each
/// setting has a documented default (README, "Configuration"); a value that cannot be used stops
/// the process with a message that names the variable. Every read is noted, with the value the
/// role took and where it came from, for `todo config`.
public final class SettingsReader: Sendable {
    private let values: [String: ResolvedValue]
    private let reads = Mutex<[String: ResolvedValue?]>([:])

    public init(_ values: [String: ResolvedValue]) {
        self.values = values
    }

    /// The environment alone (tests, and commands that take no flags).
    public convenience init(environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        self.init(try await SettingsSources.resolve(environment: environment))
    }

    /// What the role read: each name with the value it took (nil: unset, no default).
    public var readValues: [String: ResolvedValue?] { reads.withLock { $0 } }

    public func string(_ name: String) -> String? {
        let value = values[name]
        reads.withLock { $0[name] = .some(value) }
        return value?.text
    }

    public func string(_ name: String, default fallback: String) -> String {
        guard let text = string(name) else { return noteDefault(name, fallback) }
        return text
    }

    /// Notes that `name` took `value` from somewhere other than the layers. `todo serve` reads some
    /// settings twice with each role's own default (`MAX_BODY_SIZE`): the note keeps both.
    @discardableResult
    public func noteDefault(_ name: String, _ value: String, source: SettingSource = .default) -> String {
        reads.withLock { reads in
            var noted = ResolvedValue(text: value, source: source)
            if case .some(.some(let earlier)) = reads[name], earlier.source == source, earlier.text != value {
                noted.text = earlier.text + ", " + value
            }
            reads[name] = noted
        }
        return value
    }

    public func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else {
            noteDefault(name, String(fallback))
            return fallback
        }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let text = string(name)?.lowercased() else {
            noteDefault(name, String(fallback))
            return fallback
        }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError("\(name) must be true or false, got '\(text)'")
        }
    }

    /// An absolute http(s) URL such as `https://todo.example`, or nil when unset.
    public func url(_ name: String) throws -> String? {
        guard let text = string(name) else { return nil }
        guard let url = URLComponents(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
              url.query == nil, url.fragment == nil
        else { throw ConfigurationError("\(name) must be an http:// or https:// URL such as https://todo.example, got '\(text)'") }
        return text
    }

    /// `SIGNUP`: `open` (anyone may create an account), `closed` (operators do, with `todo user
    /// create`) or `invite` (with a link from `todo user invite` or an admin); the API and the web
    /// UI both read it.
    public func signUpPolicy() throws -> SignUpPolicy {
        let text = string("SIGNUP", default: "open").lowercased()
        guard let policy = SignUpPolicy(rawValue: text) else { throw ConfigurationError("SIGNUP must be open, closed or invite, got '\(text)'") }
        return policy
    }

    /// `OIDC_ISSUER`: https, or http on a loopback address only (a provider on the same machine,
    /// the tests): anywhere else plain HTTP would let the network read the client secret and
    /// forge the provider's answers.
    public func openIDIssuer() throws -> String? {
        guard let issuer = string("OIDC_ISSUER") else { return nil }
        let url = URLComponents(string: issuer)
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(url?.host ?? "")
        guard let url, url.scheme == "https" || (url.scheme == "http" && loopback), url.host?.isEmpty == false,
              url.query == nil, url.fragment == nil
        else {
            throw ConfigurationError("OIDC_ISSUER must be the provider's https:// issuer URL (http:// only on a loopback address), got '\(issuer)'")
        }
        return issuer
    }

    /// `OIDC_ISSUER`, `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET`: all three, or none.
    public func openIDSettings() throws -> OpenIDSettings? {
        let issuer = try openIDIssuer(), clientID = string("OIDC_CLIENT_ID"), secret = string("OIDC_CLIENT_SECRET")
        if issuer == nil && clientID == nil && secret == nil { return nil }
        guard let issuer, let clientID, let secret else {
            throw ConfigurationError("single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together; set all three or none")
        }
        return OpenIDSettings(issuer: issuer, clientID: clientID, clientSecret: secret)
    }

    /// `PASSWORD_LOGIN`: off only when single sign-on is on, or nobody could sign in.
    public func passwordLogin(singleSignOn: Bool) throws -> Bool {
        let enabled = try bool("PASSWORD_LOGIN", default: true)
        guard enabled || singleSignOn else {
            throw ConfigurationError("PASSWORD_LOGIN=false needs single sign-on (OIDC_ISSUER): otherwise nobody could sign in")
        }
        return enabled
    }

    /// `TRUSTED_PROXIES`, the proxies in front of a role (the API and the web UI read it).
    public func trustedProxies() throws -> TrustedProxies {
        TrustedProxies(try networks("TRUSTED_PROXIES", default: "127.0.0.1,::1"))
    }

    /// A comma-separated list of IP addresses and CIDR ranges.
    public func networks(_ name: String, default fallback: String?) throws -> [IPNetwork] {
        guard let list = fallback.map({ string(name, default: $0) }) ?? string(name) else { return [] }
        do {
            return try TrustedProxies(parsing: list).networks
        } catch {
            throw ConfigurationError("\(name) must be a comma-separated list of IP addresses and CIDR ranges: \(error)")
        }
    }
}

