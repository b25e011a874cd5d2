import Foundation
import Logging
import Testing
import TodoCore
import TodoStore

/// The databases the conformance suite runs on. PostgreSQL needs `TEST_DATABASE_URL`
/// (the test command starts a server and sets it); `TODO_REQUIRE_POSTGRES=1` turns its absence
/// into a failure so that CI can never skip it silently.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] }
    static var postgresRequired: Bool { ProcessInfo.processInfo.environment["TODO_REQUIRE_POSTGRES"] == "1" }

    static var available: [Backend] {
        postgresURL != nil || postgresRequired ? allCases : [.sqlite]
    }
}

struct MissingPostgres: Error, CustomStringConvertible {
    var description: String { "TODO_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set" }
}

/// Opens a migrated database on `backend`, runs `body`, and cleans up. On PostgreSQL the
/// database is shared: tests stay apart by creating their own users.
func withStorage(_ backend: Backend, _ body: (Storage) async throws -> Void) async throws {
    var logger = Logger(label: "test")
    logger.logLevel = .error
    switch backend {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("todo-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let opened = try await DatabaseLocation(url: "sqlite://\(directory.path)/todo.db")
            .open(poolSize: 4, connectTimeout: .seconds(5), logger: logger)
        try await opened.storage.schema.migrate(logger: logger)
        do { try await body(opened.storage) } catch { await opened.close(); throw error }
        await opened.close()
    case .postgres:
        try await withPostgres(logger: logger) { storage in
            try await storage.schema.migrate(logger: logger)
            try await body(storage)
        }
    }
}

/// Two stores on one PostgreSQL database, as two backend replicas have: the writes of one are
/// not queued behind the other's (each groups its own inserts).
func withPostgresReplicas(_ body: (Storage, Storage) async throws -> Void) async throws {
    var logger = Logger(label: "test")
    logger.logLevel = .error
    try await withPostgres(logger: logger) { first in
        try await first.schema.migrate(logger: logger)
        try await withPostgres(logger: logger) { second in try await body(first, second) }
    }
}

/// The PostgreSQL of `TEST_DATABASE_URL`, its pool running while `body` runs.
private func withPostgres(logger: Logger, _ body: (Storage) async throws -> Void) async throws {
    guard let url = Backend.postgresURL else { throw MissingPostgres() }
    // The deadline guards production requests against a database that is down; here the
    // whole suite runs at once on a busy machine, and a slow answer is not what it tests.
    let opened = try await DatabaseLocation(url: url).open(poolSize: 4, connectTimeout: .seconds(30), logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await opened.service?.run() }
        defer { group.cancelAll() }
        try await body(opened.storage)
    }
}

/// A new user with a unique e-mail.
func makeUser(_ storage: Storage, name: String? = nil) async throws -> User {
    let id = UUID().uuidString.lowercased()
    let user = User(id: id, email: "\(id)@example.com", name: name, createdAt: .now())
    guard let created = try await storage.accounts.createUser(user, passwordHash: "hash") else {
        throw StoreError.invalid("could not create a user")
    }
    return created
}

/// The quotas of most tests: the API's defaults, far above what they store.
let taskLimit = 100_000
let tokenLimit = 50

func time(_ text: String) -> Timestamp {
    Timestamp(rfc3339: text)!
}

extension ImportPlan {
    /// The tasks, in the Inbox at the top level.
    static func flat(_ tasks: [TodoTask]) -> ImportPlan {
        ImportPlan(tasks: tasks.map { ImportPlan.Entry(task: $0) })
    }
}
