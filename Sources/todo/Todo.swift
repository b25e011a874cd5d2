import ArgumentParser
import Foundation
import Logging
import HummingbirdCore
import ServiceLifecycle
import TodoAPI
import TodoMCP
import TodoWeb
import TodoCore
import TodoServer
import TodoStore

@main
struct Todo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "todo",
        abstract: "A multi-user Todo system: REST API, web UI and MCP server in one binary.",
        discussion: "Every setting is an environment variable; see the README's Configuration section.",
        version: BuildInfo.version,
        subcommands: [Serve.self, API.self, Web.self, MCPServe.self, Migrate.self, Export.self, Import.self, UserCommand.self, Healthcheck.self])
}

/// Runs the backend (and, for `todo serve`, the other roles' `companions`) until SIGTERM/SIGINT,
/// then drains: readiness 503, wait, stop accepting, finish in-flight requests, close the database.
func runBackend(
    _ configuration: APIConfiguration, database: DatabaseSettings, common: CommonSettings, readiness: Readiness = Readiness(startedUp: false),
    companions: [any Service] = [], logger: Logger
) async throws {
    logger.info("starting backend", metadata: [
        "address": "\(configuration.host):\(configuration.port)", "database": "\(database.location.redacted)",
    ])
    let opened = try await database.open(logger: logger)
    let app = await buildApplication(
        configuration, storage: opened.storage, readiness: readiness,
        services: opened.service.map { [$0] } ?? [], server: common.httpServer, logger: logger)
    try await runUntilShutdown([app] + companions, readiness: readiness, shutdown: common.shutdown, logger: logger)
    await opened.close()
    logger.info("stopped")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every role in one process on SQLite: the laptop default, no set-up needed.")

    func run() async throws {
        let environment = Environment()
        let common = try CommonSettings(environment, defaultLogFormat: .text)
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo")
        var configuration = try APIConfiguration(
            environment, defaultHost: "127.0.0.1", generatedSecret: { try persistentSecret(in: common.dataDirectory) })
        configuration.firstAccountIsAdmin = true
        let database = try DatabaseSettings(environment, dataDirectory: common.dataDirectory)
        let logger = Logger(label: "todo")
        let backendURL = "http://127.0.0.1:\(configuration.port)"
        var mcp = try MCPConfiguration(environment, defaultHost: configuration.host, backendURL: backendURL)
        mcp.port = try environment.integer("MCP_PORT", default: 8001, range: 0...65535)
        configuration.assistant.mcpURL = environment.string("MCP_URL") ?? "http://127.0.0.1:\(mcp.port)/mcp"
        var web = try WebConfiguration(environment, defaultHost: configuration.host)
        web.port = try environment.integer("WEB_PORT", default: 3000, range: 0...65535)
        web.backendURL = backendURL
        // One machine: the addresses it serves are its public URLs, unless set.
        let host = configuration.host
        let publicHost = ["0.0.0.0", "::"].contains(host) ? "localhost" : host.contains(":") ? "[\(host)]" : host
        mcp.publicURL = mcp.publicURL ?? "http://\(publicHost):\(mcp.port)"
        mcp.webURL = mcp.webURL ?? "http://\(publicHost):\(web.port)"
        configuration.publicWebURL = configuration.publicWebURL ?? mcp.webURL
        logger.info("todo is running: open http://\(web.host == "0.0.0.0" ? "127.0.0.1" : web.host):\(web.port)", metadata: [
            "api": "http://\(configuration.host):\(configuration.port)", "mcp": "http://\(mcp.host):\(mcp.port)/mcp",
            "data": "\(common.dataDirectory)",
        ])
        // One process, one readiness: the web UI and the MCP server drain with the backend.
        let readiness = Readiness(startedUp: false)
        let companions: [any Service] = [
            await buildMCPApplication(mcp, readiness: readiness, server: common.httpServer, logger: logger),
            try await buildWebApplication(web, readiness: readiness, server: common.httpServer, logger: logger),
        ]
        try await runBackend(
            configuration, database: database, common: common, readiness: readiness, companions: companions, logger: logger)
    }
}

struct API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Run the backend REST API (port 8000).")

    func run() async throws {
        let environment = Environment()
        let common = try CommonSettings(environment, defaultLogFormat: .json)
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo-api")
        let configuration = try APIConfiguration(environment, defaultHost: "0.0.0.0")
        try configuration.checkMailSettings()
        let database = try DatabaseSettings(environment, dataDirectory: common.dataDirectory)
        try await runBackend(configuration, database: database, common: common, logger: Logger(label: "todo.api"))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and exit (safe to run from several places at once).")

    func run() async throws {
        let environment = Environment()
        let common = try CommonSettings(environment, defaultLogFormat: .json)
        common.bootstrapLogging()
        let logger = Logger(label: "todo.migrate")
        let database = try DatabaseSettings(environment, dataDirectory: common.dataDirectory)
        let opened = try await database.open(logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            if let service = opened.service { tasks.addTask { try await service.run() } }
            try await opened.storage.schema.migrate(logger: logger)
            let version = try await opened.storage.schema.appliedSchemaVersion()
            logger.info("schema up to date", metadata: ["version": .stringConvertible(version), "database": "\(database.location.redacted)"])
            tasks.cancelAll()
        }
        await opened.close()
    }
}
