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
import TodoSettings
import TodoStore

@main
struct Todo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "todo",
        abstract: "A multi-user Todo system: REST API, web UI and MCP server in one binary.",
        discussion: "Every setting is an environment variable, a flag and a config-file key; see README's Configuration section, or todo config.",
        version: BuildInfo.version,
        subcommands: [
            Serve.self, API.self, Web.self, MCPServe.self, Migrate.self, Export.self, Import.self, UserCommand.self, ConfigCommand.self,
            Healthcheck.self,
        ])
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
        abstract: "Run every role in one process on SQLite: the laptop default, no set-up needed.",
        discussion: "Reads ./.env too, under the environment.")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let configuration = try ServeConfiguration(try await options.reader(dotEnv: true))
        let common = configuration.common, api = configuration.api, mcp = configuration.mcp, web = configuration.web
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo")
        let logger = Logger(label: "todo")
        logger.info("todo is running: open http://\(web.host == "0.0.0.0" ? "127.0.0.1" : web.host):\(web.port)", metadata: [
            "api": "http://\(api.host):\(api.port)", "mcp": "http://\(mcp.host):\(mcp.port)/mcp", "data": "\(common.dataDirectory)",
        ])
        // One process, one readiness: the web UI and the MCP server drain with the backend.
        let readiness = Readiness(startedUp: false)
        let companions: [any Service] = [
            await buildMCPApplication(mcp, readiness: readiness, server: common.httpServer, logger: logger),
            try await buildWebApplication(web, readiness: readiness, server: common.httpServer, logger: logger),
        ]
        try await runBackend(
            api, database: configuration.database, common: common, readiness: readiness, companions: companions, logger: logger)
    }
}

struct API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Run the backend REST API (port 8000).")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let configuration = try APIRoleConfiguration(try await options.reader(dotEnv: false))
        configuration.common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo-api")
        try await runBackend(
            configuration.api, database: configuration.database, common: configuration.common, logger: Logger(label: "todo.api"))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and exit (safe to run from several places at once).")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let configuration = try MigrateConfiguration(try await options.reader(dotEnv: true))
        let database = configuration.database
        configuration.common.bootstrapLogging()
        let logger = Logger(label: "todo.migrate")
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
