import ArgumentParser
import Foundation
import Logging
import TodoCore
import TodoServer
import TodoWeb

struct Web: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web", abstract: "Run the web UI (port 3000).")

    func run() async throws {
        let environment = Environment()
        let common = try CommonSettings(environment, defaultLogFormat: .json)
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo-web")
        let configuration = try WebConfiguration(environment, defaultHost: "0.0.0.0")
        let logger = Logger(label: "todo.web")
        logger.info("starting web UI", metadata: [
            "address": "\(configuration.host):\(configuration.port)", "backend": "\(configuration.backendURL)",
        ])
        let readiness = Readiness()
        let app = try await buildWebApplication(configuration, readiness: readiness, server: common.httpServer, logger: logger)
        try await runUntilShutdown([app], readiness: readiness, shutdown: common.shutdown, logger: logger)
        logger.info("stopped")
    }
}

extension WebConfiguration {
    /// The web UI's settings (README, "Configuration"): `PORT` (or `WEB_PORT`), `HOST`,
    /// `BACKEND_URL`, `COOKIE_SECURE`, `TRUSTED_PROXIES`, `SIGNUP`, `SESSION_TTL_SECONDS`, `BACKEND_TIMEOUT_SECONDS`,
    /// `MAX_BODY_SIZE`, `ACCESS_LOG`, `EVENT_STREAMS_PER_USER` (per browser session here),
    /// `EVENT_STREAM_CONNECTIONS`, `OIDC_ISSUER` and `OIDC_NAME`, `PASSWORD_LOGIN`, `PUBLIC_WEB_URL`.
    init(_ environment: Environment, defaultHost: String) throws {
        self.init()
        host = environment.string("HOST") ?? defaultHost
        port = try environment.integer("PORT", default: try environment.integer("WEB_PORT", default: 3000, range: 0...65535), range: 0...65535)
        backendURL = environment.string("BACKEND_URL") ?? "http://127.0.0.1:8000"
        guard let url = URLComponents(string: backendURL), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
            throw ConfigurationError("BACKEND_URL must be an http:// or https:// URL such as http://127.0.0.1:8000, got '\(backendURL)'")
        }
        switch environment.string("COOKIE_SECURE")?.lowercased() ?? "auto" {
        case "auto": cookieSecure = .auto
        case "1", "true", "yes", "on", "always": cookieSecure = .always
        case "0", "false", "no", "off", "never": cookieSecure = .never
        case let other: throw ConfigurationError("COOKIE_SECURE must be auto, true or false, got '\(other)'")
        }
        trustedProxies = try environment.trustedProxies(default: trustedProxies)
        signUp = try environment.signUpPolicy()
        if try environment.openIDIssuer() != nil { singleSignOnName = environment.string("OIDC_NAME") ?? "single sign-on" }
        passwordLogin = try environment.passwordLogin(singleSignOn: singleSignOnName != nil)
        publicURL = try environment.url("PUBLIC_WEB_URL")
        sessionLifetime = .seconds(try environment.integer("SESSION_TTL_SECONDS", default: 86_400, range: 60...31_536_000))
        backendTimeout = .seconds(try environment.integer("BACKEND_TIMEOUT_SECONDS", default: 10, range: 1...300))
        maxBodySize = try environment.integer("MAX_BODY_SIZE", default: 16 << 20, range: 1024...(1 << 30))
        accessLog = try environment.bool("ACCESS_LOG", default: true)
        eventStreamsPerSession = try environment.integer("EVENT_STREAMS_PER_USER", default: 10, range: 1...1000)
        streamConnections = try environment.integer("EVENT_STREAM_CONNECTIONS", default: 1000, range: 1...100_000)
    }
}
