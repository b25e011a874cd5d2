import ArgumentParser
import Logging
import TodoCore
import TodoMCP
import TodoServer

struct MCPServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp", abstract: "Run the MCP server (Streamable HTTP at /mcp, port 8001).")

    func run() async throws {
        let environment = Environment()
        let common = try CommonSettings(environment, defaultLogFormat: .json)
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo-mcp")
        var configuration = try MCPConfiguration(
            environment, defaultHost: "0.0.0.0", backendURL: environment.string("BACKEND_URL") ?? "http://127.0.0.1:8000")
        configuration.port = try environment.integer("PORT", default: try environment.integer("MCP_PORT", default: 8001, range: 0...65535), range: 0...65535)
        let logger = Logger(label: "todo.mcp")
        logger.info("starting MCP server", metadata: [
            "address": "\(configuration.host):\(configuration.port)", "backend": "\(configuration.backendURL)",
        ])
        let readiness = Readiness()
        let app = await buildMCPApplication(configuration, readiness: readiness, server: common.httpServer, logger: logger)
        try await runUntilShutdown([app], readiness: readiness, shutdown: common.shutdown, logger: logger)
        logger.info("stopped")
    }
}

extension MCPConfiguration {
    init(_ environment: Environment, defaultHost: String, backendURL: String) throws {
        self.init()
        host = environment.string("HOST") ?? defaultHost
        self.backendURL = backendURL
        allowedOrigins = environment.string("MCP_ALLOWED_ORIGINS")?
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
        publicURL = try environment.url("MCP_PUBLIC_URL")
        webURL = try environment.url("MCP_WEB_URL") ?? environment.url("PUBLIC_WEB_URL")
        sessionIdleTimeout = .seconds(try environment.integer("MCP_SESSION_IDLE_SECONDS", default: 3600, range: 10...86_400))
        sessionsPerUser = try environment.integer("MCP_SESSIONS_PER_USER", default: 20, range: 1...1000)
    }
}
