import ArgumentParser
import Foundation
import Logging
import TodoAPI
import TodoCore
import TodoStore

/// Opens the configured database, runs `body` with it (the PostgreSQL pool running alongside),
/// and closes it. For commands that work on the database directly.
func withDatabase<T: Sendable>(label: String, _ body: @escaping @Sendable (Storage, Logger) async throws -> T) async throws -> T {
    let environment = Environment()
    let common = try CommonSettings(environment, defaultLogFormat: .text)
    common.bootstrapLogging()
    let logger = Logger(label: label)
    let database = try DatabaseSettings(environment, dataDirectory: common.dataDirectory)
    let opened = try await database.open(logger: logger)
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
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a user's tasks as a todo-export JSON document (the format of GET /api/{user_id}/export).")

    @Option(help: "The e-mail of the account.")
    var email: String

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() async throws {
        let email = try Credentials.normalizedEmail(self.email)
        let json = try await withDatabase(label: "todo.export") { storage, _ in
            guard let account = try await storage.accounts.credentials(email: email) else { throw ValidationError("no account for \(email)") }
            let tasks = try await storage.tasks.allTasks(userID: account.user.id)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(TaskExport(exportedAt: .now(), tasks: tasks))
        }
        if let output {
            try json.write(to: URL(fileURLWithPath: output), options: .atomic)
        } else {
            FileHandle.standardOutput.write(json + Data("\n".utf8))
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add the tasks of a todo-export JSON document to a user's tasks (all or none).")

    @Option(help: "The e-mail of the account.")
    var email: String

    @Argument(help: "The export document; - reads standard input.")
    var file: String

    func run() async throws {
        let email = try Credentials.normalizedEmail(self.email)
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        let limit = try Environment().tasksPerUserLimit()
        let count = try await withDatabase(label: "todo.import") { storage, _ in
            guard let account = try await storage.accounts.credentials(email: email) else { throw ValidationError("no account for \(email)") }
            let tasks = try TaskExport.tasks(from: json, userID: account.user.id, now: .now())
            guard let count = try await storage.tasks.importTasks(tasks, userID: account.user.id, limit: limit) else {
                throw ValidationError("the account disappeared during the import")
            }
            return count
        }
        print("imported \(count) tasks")
    }
}

