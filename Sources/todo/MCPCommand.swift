import ArgumentParser
import Logging
import TodoCore
import TodoMCP
import TodoServer
import TodoSettings

struct MCPServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp", abstract: "Run the MCP server (Streamable HTTP at /mcp, port 8001).")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let role = try MCPRoleConfiguration(try await options.reader(dotEnv: false))
        let common = role.common, configuration = role.mcp
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo-mcp")
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
