import Foundation
import HummingbirdCore
import Logging
import TodoAPI
import TodoAssistant
import TodoCore
import TodoMail
import TodoServer
import TodoStore
import TodoMCP
import TodoWeb

/// The settings every role shares.
public struct CommonSettings {
    public var dataDirectory: String
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// `HTTP_IDLE_TIMEOUT_SECONDS`: see `HTTPServerBuilder.http1(idleTimeout:)`.
    public var idleTimeout: Duration
    /// `SHUTDOWN_DRAIN_SECONDS` and `SHUTDOWN_TIMEOUT_SECONDS`, the same for every role.
    public var shutdown: ShutdownSettings

    public enum LogFormat: String {
        case json, text
    }

    public init(_ settings: SettingsReader, defaultLogFormat: LogFormat) throws {
        dataDirectory = settings.string("TODO_DATA_DIR", default: "./data")
        let level = settings.string("LOG_LEVEL", default: "info").lowercased()
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ConfigurationError("LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
        }
        logLevel = parsedLevel
        let format = settings.string("LOG_FORMAT", default: defaultLogFormat.rawValue).lowercased()
        guard let parsedFormat = LogFormat(rawValue: format) else { throw ConfigurationError("LOG_FORMAT must be json or text") }
        logFormat = parsedFormat
        idleTimeout = .seconds(try settings.integer("HTTP_IDLE_TIMEOUT_SECONDS", default: 65, range: 1...3600))
        shutdown = ShutdownSettings(
            drainDelay: .seconds(try settings.integer("SHUTDOWN_DRAIN_SECONDS", default: 0, range: 0...300)),
            timeout: .seconds(try settings.integer("SHUTDOWN_TIMEOUT_SECONDS", default: 20, range: 1...600)))
    }

    /// The HTTP server every role runs.
    public var httpServer: HTTPServerBuilder { .http1(idleTimeout: idleTimeout) }

    /// Sets up swift-log once for the process.
    public func bootstrapLogging() {
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
public struct DatabaseSettings {
    public var location: DatabaseLocation
    public var poolSize: Int
    public var connectTimeout: Duration

    public init(_ settings: SettingsReader, dataDirectory: String) throws {
        location = try DatabaseLocation(url: settings.string("DATABASE_URL", default: "sqlite://\(dataDirectory)/todo.db"))
        poolSize = try settings.integer("DATABASE_POOL_SIZE", default: 10, range: 1...500)
        connectTimeout = .seconds(try settings.integer("DATABASE_TIMEOUT_SECONDS", default: 5, range: 1...300))
    }

    public func open(logger: Logger) async throws -> OpenedStorage {
        try await location.open(poolSize: poolSize, connectTimeout: connectTimeout, poolObserver: poolMetrics, logger: logger)
    }

    /// The `db_pool_*` metrics, for PostgreSQL's pool (SQLite has none: no such series at all).
    private var poolMetrics: DatabasePoolMetrics? {
        if case .postgres = location { DatabasePoolMetrics() } else { nil }
    }
}

extension APIConfiguration {
    /// The backend settings. `generatedSecret` and `generatedVAPIDKey` are used when no secret or
    /// key is configured (only `todo serve` offers them; without a VAPID key push is off).
    public init(
        _ settings: SettingsReader, defaultHost: String, generatedSecret: (() throws -> String)? = nil,
        generatedVAPIDKey: (() throws -> String)? = nil
    ) throws {
        let secret: String
        if let configured = settings.string("AUTH_SECRET") ?? settings.string("BETTER_AUTH_SECRET") {
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
        host = settings.string("HOST", default: defaultHost)
        port = try settings.integer("PORT", default: try settings.integer("API_PORT", default: 8000, range: 0...65535), range: 0...65535)
        tokenLifetime = .seconds(try settings.integer("AUTH_TOKEN_TTL_SECONDS", default: 86_400, range: 60...31_536_000))
        maxBodySize = try settings.integer("MAX_BODY_SIZE", default: 1 << 20, range: 1024...(1 << 30))
        maxImportSize = try settings.integer("MAX_IMPORT_SIZE", default: 16 << 20, range: 1024...(1 << 30))
        reminderInterval = .milliseconds(try settings.integer("REMINDER_INTERVAL_MS", default: 1000, range: 50...60_000))
        eventPollInterval = .milliseconds(try settings.integer("EVENT_POLL_INTERVAL_MS", default: 250, range: 10...10_000))
        eventHeartbeat = .seconds(try settings.integer("EVENT_HEARTBEAT_SECONDS", default: 15, range: 1...300))
        eventRetention = .seconds(3600 * (try settings.integer("EVENT_RETENTION_HOURS", default: 24, range: 1...720)))
        eventStreamsPerUser = try settings.integer("EVENT_STREAMS_PER_USER", default: 10, range: 1...1000)
        assistant = try AssistantConfiguration(settings)
        passwordHashCost = UInt8(try settings.integer("PASSWORD_HASH_COST", default: 12, range: 4...31))
        loginAttemptLimit = try settings.integer("LOGIN_ATTEMPT_LIMIT", default: 10, range: 1...10_000)
        accessLog = try settings.bool("ACCESS_LOG", default: true)
        signUpAddressLimit = try settings.integer("SIGNUP_ADDRESS_LIMIT", default: 10, range: 1...100_000)
        signUpLimit = try settings.integer("SIGNUP_LIMIT", default: 60, range: 1...100_000)
        signUp = try settings.signUpPolicy()
        openID = try settings.openIDSettings()
        passwordLogin = try settings.passwordLogin(singleSignOn: openID != nil)
        tasksPerUserLimit = try settings.tasksPerUserLimit()
        trustedProxies = try settings.trustedProxies()
        webhookAddresses = OutboundAddressPolicy(allowed: try settings.networks("WEBHOOK_ALLOWED_NETWORKS", default: nil))
        vapidKey = try settings.vapidKey(generated: generatedVAPIDKey)
        pushAddresses = OutboundAddressPolicy(allowed: try settings.networks("PUSH_ALLOWED_NETWORKS", default: nil), httpsOnly: true)
        migrateOnStart = try settings.bool("MIGRATE_ON_START", default: true)
        publicWebURL = try settings.url("PUBLIC_WEB_URL")
        mailer = try settings.smtpMailer()
    }

    /// Reset mails link to the web UI: a mailer needs its address.
    public func checkMailSettings() throws {
        guard mailer == nil || publicWebURL != nil else {
            throw ConfigurationError("SMTP_URL is set, so PUBLIC_WEB_URL must be too: the web UI's address, where reset links point")
        }
    }
}

extension SettingsReader {
    /// `SMTP_URL`, `MAIL_FROM` and `SMTP_CA_FILE`: the mailer of password-reset links, or nil
    /// when `SMTP_URL` is unset.
    public func smtpMailer() throws -> SMTPMailer? {
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
    public func publicWebURL() throws -> String {
        guard let url = try url("PUBLIC_WEB_URL") else {
            throw ConfigurationError("set PUBLIC_WEB_URL to the web UI's address (such as https://todo.example): the link points there")
        }
        return url
    }
}

extension SettingsReader {
    /// `VAPID_PRIVATE_KEY` (or the generated one) and `VAPID_SUBJECT`; nil when there is no key.
    public func vapidKey(generated: (() throws -> String)?) throws -> VAPIDKey? {
        var text = string("VAPID_PRIVATE_KEY")
        if text == nil, let generated { text = try generated() }
        guard let text else { return nil }
        do {
            return try VAPIDKey(text, subject: string("VAPID_SUBJECT", default: "mailto:admin@localhost"))
        } catch let error as VAPIDKeyError {
            throw ConfigurationError(error.description)
        } catch {
            throw ConfigurationError("VAPID_PRIVATE_KEY cannot be read: \(error)")
        }
    }
}

extension SettingsReader {
    /// `TASKS_PER_USER_LIMIT`: the API and `todo import` hold every account to it.
    public func tasksPerUserLimit() throws -> Int {
        try integer("TASKS_PER_USER_LIMIT", default: 100_000, range: 1...10_000_000)
    }
}

extension AssistantConfiguration {
    /// `MCP_URL`, and the model provider when `LLM_BASE_URL` or `LLM_API_KEY` is set
    /// (`LLM_BASE_URL` defaults to OpenAI, `LLM_MODEL` to gpt-4o-mini); otherwise the offline agent.
    public init(_ settings: SettingsReader) throws {
        self.init()
        mcpURL = settings.string("MCP_URL", default: mcpURL)
        maxSteps = try settings.integer("ASSISTANT_MAX_STEPS", default: 6, range: 1...20)
        timeLimit = .seconds(try settings.integer("CHAT_TIME_LIMIT_SECONDS", default: 90, range: 1...600))
        rateLimit = try settings.integer("CHAT_RATE_LIMIT", default: 20, range: 1...10_000)
        conversationLimit = try settings.integer("CHAT_CONVERSATION_LIMIT", default: 1000, range: 1...1_000_000)
        messageLimit = try settings.integer("CHAT_MESSAGE_LIMIT", default: 10_000, range: 1...1_000_000)
        if settings.string("LLM_BASE_URL") != nil || settings.string("LLM_API_KEY") != nil {
            var provider = OpenAICompatibleModel.Configuration(
                baseURL: settings.string("LLM_BASE_URL", default: "https://api.openai.com/v1"),
                apiKey: settings.string("LLM_API_KEY"),
                model: settings.string("LLM_MODEL", default: "gpt-4o-mini"))
            provider.timeout = .seconds(try settings.integer("LLM_TIMEOUT_SECONDS", default: 60, range: 1...600))
            provider.attempts = try settings.integer("LLM_ATTEMPTS", default: 3, range: 1...10)
            self.provider = provider
        }
    }
}

/// Where `todo serve` keeps a secret it made (the path of its file), and how to make a new one.
public typealias SecretKeeper = (_ path: String, _ make: @escaping () -> String) throws -> String

/// A secret `todo serve` makes on first start and keeps in the data directory (mode 0600), so
/// that sessions and push subscriptions survive restarts without any set-up.
public func persistentSecret(at path: String, make: @escaping () -> String) throws -> String {
    if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
        return existing.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
    let secret = make()
    guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw ConfigurationError("cannot write \(path)")
    }
    return secret
}

/// 256 random bits in hex, the access-token key `todo serve` makes.
func newAuthSecret() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<4).map { _ in generator.next().hex16 }.joined()
}

extension WebConfiguration {
    /// The web UI's settings (README, "Configuration"): `PORT` (or `WEB_PORT`), `HOST`,
    /// `BACKEND_URL`, `COOKIE_SECURE`, `TRUSTED_PROXIES`, `SIGNUP`, `SESSION_TTL_SECONDS`, `BACKEND_TIMEOUT_SECONDS`,
    /// `MAX_BODY_SIZE`, `ACCESS_LOG`, `EVENT_STREAMS_PER_USER` (per browser session here),
    /// `EVENT_STREAM_CONNECTIONS`, `OIDC_ISSUER` and `OIDC_NAME`, `PASSWORD_LOGIN`, `PUBLIC_WEB_URL`.
    public init(_ settings: SettingsReader, defaultHost: String) throws {
        self.init()
        host = settings.string("HOST", default: defaultHost)
        port = try settings.integer("PORT", default: try settings.integer("WEB_PORT", default: 3000, range: 0...65535), range: 0...65535)
        backendURL = settings.string("BACKEND_URL", default: "http://127.0.0.1:8000")
        guard let url = URLComponents(string: backendURL), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
            throw ConfigurationError("BACKEND_URL must be an http:// or https:// URL such as http://127.0.0.1:8000, got '\(backendURL)'")
        }
        switch settings.string("COOKIE_SECURE", default: "auto").lowercased() {
        case "auto": cookieSecure = .auto
        case "1", "true", "yes", "on", "always": cookieSecure = .always
        case "0", "false", "no", "off", "never": cookieSecure = .never
        case let other: throw ConfigurationError("COOKIE_SECURE must be auto, true or false, got '\(other)'")
        }
        trustedProxies = try settings.trustedProxies()
        signUp = try settings.signUpPolicy()
        if try settings.openIDIssuer() != nil { singleSignOnName = settings.string("OIDC_NAME", default: "single sign-on") }
        passwordLogin = try settings.passwordLogin(singleSignOn: singleSignOnName != nil)
        publicURL = try settings.url("PUBLIC_WEB_URL")
        sessionLifetime = .seconds(try settings.integer("SESSION_TTL_SECONDS", default: 86_400, range: 60...31_536_000))
        backendTimeout = .seconds(try settings.integer("BACKEND_TIMEOUT_SECONDS", default: 10, range: 1...300))
        maxBodySize = try settings.integer("MAX_BODY_SIZE", default: 16 << 20, range: 1024...(1 << 30))
        accessLog = try settings.bool("ACCESS_LOG", default: true)
        eventStreamsPerSession = try settings.integer("EVENT_STREAMS_PER_USER", default: 10, range: 1...1000)
        streamConnections = try settings.integer("EVENT_STREAM_CONNECTIONS", default: 1000, range: 1...100_000)
    }
}

extension MCPConfiguration {
    public init(_ settings: SettingsReader, defaultHost: String, backendURL: String) throws {
        self.init()
        host = settings.string("HOST", default: defaultHost)
        self.backendURL = backendURL
        allowedOrigins = settings.string("MCP_ALLOWED_ORIGINS")?
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
        publicURL = try settings.url("MCP_PUBLIC_URL")
        webURL = try settings.url("MCP_WEB_URL") ?? settings.url("PUBLIC_WEB_URL")
        sessionIdleTimeout = .seconds(try settings.integer("MCP_SESSION_IDLE_SECONDS", default: 3600, range: 10...86_400))
        sessionsPerUser = try settings.integer("MCP_SESSIONS_PER_USER", default: 20, range: 1...1000)
    }
}
