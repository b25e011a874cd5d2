import ArgumentParser
import Foundation
import Logging
import TodoAPI
import TodoCore
import TodoSettings
import TodoStore

/// The settings of the commands that work on the database directly: the environment over
/// `TODO_CONFIG_FILE` over `./.env`, as `todo serve` reads them, so both open the same database.
func operatorSettings() async throws -> SettingsReader {
    SettingsReader(try await SettingsSources.resolve(dotEnvFile: SettingsSources.dotEnvPath))
}

/// Opens the configured database, runs `body` with it (the PostgreSQL pool running alongside),
/// and closes it. For commands that work on the database directly; one that reads settings of
/// its own passes the reader it made, so that the layers are resolved once.
func withDatabase<T: Sendable>(
    label: String, settings: SettingsReader? = nil, _ body: @escaping @Sendable (Storage, Logger) async throws -> T
) async throws -> T {
    let reader = if let settings { settings } else { try await operatorSettings() }
    let configuration = try MigrateConfiguration(reader, defaultLogFormat: .text)
    let database = configuration.database
    configuration.common.bootstrapLogging()
    let logger = Logger(label: label)
    let opened = try await database.open(logger: logger)
    // Closed whether the body succeeds or not: an unknown e-mail is an answer, not a crash.
    do {
        let result = try await withThrowingTaskGroup(of: Void.self) { tasks in
            if let service = opened.service { tasks.addTask { try await service.run() } }
            defer { tasks.cancelAll() }
            let version = try await opened.storage.schema.appliedSchemaVersion()
            guard version >= Schema.latestVersion else {
                throw ConfigurationError("the database schema is at version \(version), this build needs \(Schema.latestVersion): run todo migrate")
            }
            return try await body(opened.storage, logger)
        }
        await opened.close()
        return result
    } catch {
        await opened.close()
        throw error
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a user's projects and tasks as a todo-export JSON document (the format of GET /api/{user_id}/export).")

    @Option(help: "The e-mail of the account.")
    var email: String

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    /// Streams the document a page of tasks at a time, as the API does; a file appears under its
    /// name only once complete.
    func run() async throws {
        let email = try Credentials.normalizedEmail(self.email)
        let partial = output.map { $0 + ".partial" }
        if let partial { guard FileManager.default.createFile(atPath: partial, contents: nil) else { throw ValidationError("cannot write \(partial)") } }
        let file = try partial.map { try FileHandle(forWritingTo: URL(fileURLWithPath: $0)) } ?? FileHandle.standardOutput
        do {
            try await withDatabase(label: "todo.export") { storage, _ in
                guard let account = try await storage.accounts.credentials(email: email) else { throw ValidationError("no account for \(email)") }
                let first = try await storage.tasks.tasksOldestFirst(userID: account.user.id, after: nil), now = Timestamp.now()
                let projects = try await storage.projects.projects(userID: account.user.id, at: now)
                try await ExportJSON.write(first, projects: projects, userID: account.user.id, from: storage.tasks, exportedAt: now) { chunk in
                    try file.write(contentsOf: chunk.readableBytesView)
                }
                try file.write(contentsOf: Data("\n".utf8))
            }
        } catch {
            if let partial { try? FileManager.default.removeItem(atPath: partial) }
            throw error
        }
        if let output, let partial {
            try file.close()
            // rename(2) replaces an existing file atomically.
            guard rename(partial, output) == 0 else { throw ValidationError("cannot write \(output): \(String(cString: strerror(errno)))") }
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add the projects and tasks of a todo-export JSON document (version 1 or 2) to a user's (all or none).")

    @Option(help: "The e-mail of the account.")
    var email: String

    @Argument(help: "The export document; - reads standard input.")
    var file: String

    func run() async throws {
        let email = try Credentials.normalizedEmail(self.email)
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        let settings = try await operatorSettings()
        let limit = try settings.tasksPerUserLimit()
        let count = try await withDatabase(label: "todo.import", settings: settings) { storage, _ in
            guard let account = try await storage.accounts.credentials(email: email) else { throw ValidationError("no account for \(email)") }
            let plan = try TaskExport.plan(from: json, userID: account.user.id, now: .now())
            guard try await storage.tasks.importTasks(plan, userID: account.user.id, limit: limit) != nil else {
                throw ValidationError("the account disappeared during the import")
            }
            return (plan.tasks.count, plan.projects.count)
        }
        print("imported \(count.0) tasks and made \(count.1) project\(count.1 == 1 ? "" : "s")")
    }
}

