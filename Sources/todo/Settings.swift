import Foundation
import HummingbirdCore
import Logging
import TodoAPI
import TodoAssistant
import TodoCore
import TodoMail
import TodoServer
import TodoStore

/// Reads typed settings from the environment (12-factor). Each variable has a documented
/// default (README, "Configuration"); a value that cannot be used stops the process with a
/// message that names the variable.
struct Environment {
    var values: [String: String] = ProcessInfo.processInfo.environment

    func string(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let text = string(name)?.lowercased() else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError("\(name) must be true or false, got '\(text)'")
        }
    }

    /// An absolute http(s) URL such as `https://todo.example`, or nil when unset.
    func url(_ name: String) throws -> String? {
        guard let text = string(name) else { return nil }
        guard let url = URLComponents(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
              url.query == nil, url.fragment == nil
        else { throw ConfigurationError("\(name) must be an http:// or https:// URL such as https://todo.example, got '\(text)'") }
        return text
    }

    /// `SIGNUP`: `open` (anyone may create an account), `closed` (operators do, with `todo user
    /// create`) or `invite` (with a link from `todo user invite` or an admin); the API and the web
    /// UI both read it.
    func signUpPolicy() throws -> SignUpPolicy {
        let text = string("SIGNUP")?.lowercased() ?? "open"
        guard let policy = SignUpPolicy(rawValue: text) else { throw ConfigurationError("SIGNUP must be open, closed or invite, got '\(text)'") }
        return policy
    }

    /// `OIDC_ISSUER`: https, or http on a loopback address only (a provider on the same machine,
    /// the tests): anywhere else plain HTTP would let the network read the client secret and
    /// forge the provider's answers.
    func openIDIssuer() throws -> String? {
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
    func openIDSettings() throws -> OpenIDSettings? {
        let issuer = try openIDIssuer(), clientID = string("OIDC_CLIENT_ID"), secret = string("OIDC_CLIENT_SECRET")
        if issuer == nil && clientID == nil && secret == nil { return nil }
        guard let issuer, let clientID, let secret else {
            throw ConfigurationError("single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together; set all three or none")
        }
        return OpenIDSettings(issuer: issuer, clientID: clientID, clientSecret: secret)
    }

    /// `PASSWORD_LOGIN`: off only when single sign-on is on, or nobody could sign in.
    func passwordLogin(singleSignOn: Bool) throws -> Bool {
        let enabled = try bool("PASSWORD_LOGIN", default: true)
        guard enabled || singleSignOn else {
            throw ConfigurationError("PASSWORD_LOGIN=false needs single sign-on (OIDC_ISSUER): otherwise nobody could sign in")
        }
        return enabled
    }

    /// `TRUSTED_PROXIES`, the proxies in front of a role (the API and the web UI read it).
    func trustedProxies(default fallback: TrustedProxies) throws -> TrustedProxies {
        guard let proxies = string("TRUSTED_PROXIES") else { return fallback }
        do {
            return try TrustedProxies(parsing: proxies)
        } catch {
            throw ConfigurationError("TRUSTED_PROXIES must be a comma-separated list of IP addresses and CIDR ranges: \(error)")
        }
    }
}

/// The settings every role shares.
struct CommonSettings {
    var dataDirectory: String
    var logLevel: Logger.Level
    var logFormat: LogFormat
    /// `HTTP_IDLE_TIMEOUT_SECONDS`: see `HTTPServerBuilder.http1(idleTimeout:)`.
    var idleTimeout: Duration
    /// `SHUTDOWN_DRAIN_SECONDS` and `SHUTDOWN_TIMEOUT_SECONDS`, the same for every role.
    var shutdown: ShutdownSettings

    enum LogFormat: String {
        case json, text
    }

    init(_ environment: Environment, defaultLogFormat: LogFormat) throws {
        dataDirectory = environment.string("TODO_DATA_DIR") ?? "./data"
        let level = environment.string("LOG_LEVEL")?.lowercased() ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ConfigurationError("LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
        }
        logLevel = parsedLevel
        let format = environment.string("LOG_FORMAT")?.lowercased() ?? defaultLogFormat.rawValue
        guard let parsedFormat = LogFormat(rawValue: format) else { throw ConfigurationError("LOG_FORMAT must be json or text") }
        logFormat = parsedFormat
        idleTimeout = .seconds(try environment.integer("HTTP_IDLE_TIMEOUT_SECONDS", default: 65, range: 1...3600))
        shutdown = ShutdownSettings(
            drainDelay: .seconds(try environment.integer("SHUTDOWN_DRAIN_SECONDS", default: 0, range: 0...300)),
            timeout: .seconds(try environment.integer("SHUTDOWN_TIMEOUT_SECONDS", default: 20, range: 1...600)))
    }

    /// The HTTP server every role runs.
    var httpServer: HTTPServerBuilder { .http1(idleTimeout: idleTimeout) }

    /// Sets up swift-log once for the process.
    func bootstrapLogging() {
        let level = logLevel
        switch logFormat {
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        case .text: LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        }
    }
}

/// The database settings of the backend and `todo migrate`.
struct DatabaseSettings {
    var location: DatabaseLocation
    var poolSize: Int
    var connectTimeout: Duration

    init(_ environment: Environment, dataDirectory: String) throws {
        location = try DatabaseLocation(url: environment.string("DATABASE_URL") ?? "sqlite://\(dataDirectory)/todo.db")
        poolSize = try environment.integer("DATABASE_POOL_SIZE", default: 10, range: 1...500)
        connectTimeout = .seconds(try environment.integer("DATABASE_TIMEOUT_SECONDS", default: 5, range: 1...300))
    }

    func open(logger: Logger) async throws -> OpenedStorage {
        try await location.open(poolSize: poolSize, connectTimeout: connectTimeout, poolObserver: poolMetrics, logger: logger)
    }

    /// The `db_pool_*` metrics, for PostgreSQL's pool (SQLite has none: no such series at all).
    private var poolMetrics: DatabasePoolMetrics? {
        if case .postgres = location { DatabasePoolMetrics() } else { nil }
    }
}

extension APIConfiguration {
    /// The backend settings. `generatedSecret` is used when no secret is configured
    /// (only `todo serve` offers one).
    init(_ environment: Environment, defaultHost: String, generatedSecret: (() throws -> String)? = nil) throws {
        let secret: String
        if let configured = environment.string("AUTH_SECRET") ?? environment.string("BETTER_AUTH_SECRET") {
            secret = configured
        } else if let generatedSecret {
            secret = try generatedSecret()
        } else {
            throw ConfigurationError("AUTH_SECRET (or BETTER_AUTH_SECRET) must be set: the key that signs access tokens")
        }
        guard secret.utf8.count >= AccessTokens.minimumSecretLength else {
            throw ConfigurationError("AUTH_SECRET must be at least \(AccessTokens.minimumSecretLength) characters; try: openssl rand -hex 32")
        }
        self.init(authSecret: secret)
        host = environment.string("HOST") ?? defaultHost
        port = try environment.integer("PORT", default: try environment.integer("API_PORT", default: 8000, range: 0...65535), range: 0...65535)
        tokenLifetime = .seconds(try environment.integer("AUTH_TOKEN_TTL_SECONDS", default: 86_400, range: 60...31_536_000))
        maxBodySize = try environment.integer("MAX_BODY_SIZE", default: 1 << 20, range: 1024...(1 << 30))
        maxImportSize = try environment.integer("MAX_IMPORT_SIZE", default: 16 << 20, range: 1024...(1 << 30))
        reminderInterval = .milliseconds(try environment.integer("REMINDER_INTERVAL_MS", default: 1000, range: 50...60_000))
        eventPollInterval = .milliseconds(try environment.integer("EVENT_POLL_INTERVAL_MS", default: 250, range: 10...10_000))
        eventHeartbeat = .seconds(try environment.integer("EVENT_HEARTBEAT_SECONDS", default: 15, range: 1...300))
        eventRetention = .seconds(3600 * (try environment.integer("EVENT_RETENTION_HOURS", default: 24, range: 1...720)))
        eventStreamsPerUser = try environment.integer("EVENT_STREAMS_PER_USER", default: 10, range: 1...1000)
        assistant = try AssistantConfiguration(environment)
        passwordHashCost = UInt8(try environment.integer("PASSWORD_HASH_COST", default: 12, range: 4...31))
        loginAttemptLimit = try environment.integer("LOGIN_ATTEMPT_LIMIT", default: 10, range: 1...10_000)
        accessLog = try environment.bool("ACCESS_LOG", default: true)
        signUpAddressLimit = try environment.integer("SIGNUP_ADDRESS_LIMIT", default: 10, range: 1...100_000)
        signUpLimit = try environment.integer("SIGNUP_LIMIT", default: 60, range: 1...100_000)
        signUp = try environment.signUpPolicy()
        openID = try environment.openIDSettings()
        passwordLogin = try environment.passwordLogin(singleSignOn: openID != nil)
        tasksPerUserLimit = try environment.tasksPerUserLimit()
        trustedProxies = try environment.trustedProxies(default: trustedProxies)
        migrateOnStart = try environment.bool("MIGRATE_ON_START", default: true)
        publicWebURL = try environment.url("PUBLIC_WEB_URL")
        mailer = try environment.smtpMailer()
    }

    /// Reset mails link to the web UI: a mailer needs its address.
    func checkMailSettings() throws {
        guard mailer == nil || publicWebURL != nil else {
            throw ConfigurationError("SMTP_URL is set, so PUBLIC_WEB_URL must be too: the web UI's address, where reset links point")
        }
    }
}

extension Environment {
    /// `SMTP_URL`, `MAIL_FROM` and `SMTP_CA_FILE`: the mailer of password-reset links, or nil
    /// when `SMTP_URL` is unset.
    func smtpMailer() throws -> SMTPMailer? {
        guard let url = string("SMTP_URL") else { return nil }
        guard let from = string("MAIL_FROM") else {
            throw ConfigurationError("SMTP_URL is set, so MAIL_FROM must be too: the sender of reset mails, such as todo@example.com")
        }
        do {
            return try SMTPMailer(SMTPConfiguration(url: url, from: from, caFile: string("SMTP_CA_FILE")))
        } catch let error as MailError {
            throw ConfigurationError(error.description)
        } catch {
            throw ConfigurationError("SMTP_CA_FILE cannot be used: \(error)")
        }
    }

    /// `PUBLIC_WEB_URL`, which `todo user reset-password --link` needs.
    func publicWebURL() throws -> String {
        guard let url = try url("PUBLIC_WEB_URL") else {
            throw ConfigurationError("set PUBLIC_WEB_URL to the web UI's address (such as https://todo.example): the link points there")
        }
        return url
    }
}

extension Environment {
    /// `TASKS_PER_USER_LIMIT`: the API and `todo import` hold every account to it.
    func tasksPerUserLimit() throws -> Int {
        try integer("TASKS_PER_USER_LIMIT", default: 100_000, range: 1...10_000_000)
    }
}

extension AssistantConfiguration {
    /// `MCP_URL`, and the model provider when `LLM_BASE_URL` or `LLM_API_KEY` is set
    /// (`LLM_BASE_URL` defaults to OpenAI, `LLM_MODEL` to gpt-4o-mini); otherwise the offline agent.
    init(_ environment: Environment) throws {
        self.init()
        mcpURL = environment.string("MCP_URL") ?? mcpURL
        maxSteps = try environment.integer("ASSISTANT_MAX_STEPS", default: 6, range: 1...20)
        timeLimit = .seconds(try environment.integer("CHAT_TIME_LIMIT_SECONDS", default: 90, range: 1...600))
        rateLimit = try environment.integer("CHAT_RATE_LIMIT", default: 20, range: 1...10_000)
        conversationLimit = try environment.integer("CHAT_CONVERSATION_LIMIT", default: 1000, range: 1...1_000_000)
        messageLimit = try environment.integer("CHAT_MESSAGE_LIMIT", default: 10_000, range: 1...1_000_000)
        if environment.string("LLM_BASE_URL") != nil || environment.string("LLM_API_KEY") != nil {
            var provider = OpenAICompatibleModel.Configuration(
                baseURL: environment.string("LLM_BASE_URL") ?? "https://api.openai.com/v1",
                apiKey: environment.string("LLM_API_KEY"),
                model: environment.string("LLM_MODEL") ?? "gpt-4o-mini")
            provider.timeout = .seconds(try environment.integer("LLM_TIMEOUT_SECONDS", default: 60, range: 1...600))
            provider.attempts = try environment.integer("LLM_ATTEMPTS", default: 3, range: 1...10)
            self.provider = provider
        }
    }
}

/// The secret `todo serve` makes on first start and keeps in the data directory (mode 0600),
/// so that sessions survive restarts without any set-up.
func persistentSecret(in directory: String) throws -> String {
    let path = directory + "/auth-secret"
    if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
        return existing.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var generator = SystemRandomNumberGenerator()
    let secret = (0..<4).map { _ in String(generator.next(), radix: 16).paddedTo16 }.joined()
    guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw ConfigurationError("cannot write \(path)")
    }
    return secret
}

extension String {
    fileprivate var paddedTo16: String { String(repeating: "0", count: max(0, 16 - count)) + self }
}
