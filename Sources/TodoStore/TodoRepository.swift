import Logging
import TodoCore

/// Everything the backend persists. One implementation per database; both pass the same
/// conformance suite. Routes never see SQL.
public protocol TodoRepository: Sendable {
    /// Applies pending migrations. Safe when several processes call it at once.
    func migrate(logger: Logger) async throws
    /// The newest migration applied to the database, 0 for an empty database.
    func appliedSchemaVersion() async throws -> Int
    /// Fails when the database cannot answer.
    func ping() async throws

    /// Creates an account, or returns nil when the e-mail is taken.
    func createUser(_ user: User, passwordHash: String) async throws -> User?
    func credentials(email: String) async throws -> StoredCredentials?
    func user(id: UserID) async throws -> User?

    /// Stores a new task for an existing user; nil when the user does not exist (any more).
    func insertTask(_ fields: TaskFields, userID: UserID, at now: Timestamp) async throws -> TodoTask?
    func task(id: TaskID, userID: UserID) async throws -> TodoTask?
    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage
    /// Writes `task` over the stored row if the stored version is still `expectedVersion`.
    /// Returns false when the task is gone or was changed meanwhile.
    func saveTask(_ task: TodoTask, expectedVersion: Int) async throws -> Bool
    /// Deletes the task (only at `expectedVersion` when given).
    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome
}

public struct StoredCredentials: Sendable {
    public var user: User
    public var passwordHash: String

    public init(user: User, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
    }
}

public enum DeleteOutcome: Sendable, Equatable {
    case deleted, notFound, versionMismatch
}

/// The schema version this build expects; readiness waits until the database has it.
public enum Schema {
    public static var latestVersion: Int { Migrations.postgres.count }
}

/// The database could not be reached or failed; the API answers 503.
public struct StoreUnavailable: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
