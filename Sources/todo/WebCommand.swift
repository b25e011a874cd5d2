import ArgumentParser
import Foundation
import Logging
import TodoCore
import TodoServer
import TodoSettings
import TodoWeb

struct Web: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web", abstract: "Run the web UI (port 3000).")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let role = try WebRoleConfiguration(try await options.reader(dotEnv: false))
        let common = role.common, configuration = role.web
        common.bootstrapLogging()
        try TraceExport.bootstrap(serviceName: "todo-web")
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
