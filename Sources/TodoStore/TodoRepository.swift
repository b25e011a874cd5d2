import Foundation
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

    /// Stores a new task (its `id` is ignored) for an existing user; nil when the user does not exist (any more).
    func insertTask(_ task: TodoTask) async throws -> TodoTask?
    func task(id: TaskID, userID: UserID) async throws -> TodoTask?
    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage
    /// Writes `task` over the stored row if the stored version is still `expectedVersion`.
    /// With `next`, also stores that task and links it as `task`'s next occurrence, in the
    /// same transaction.
    func saveTask(_ task: TodoTask, expectedVersion: Int, followedBy next: TodoTask?) async throws -> SaveOutcome
    /// Deletes the task (only at `expectedVersion` when given).
    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome
    /// Stores all the tasks or none; nil when the user does not exist.
    func importTasks(_ tasks: [TodoTask], userID: UserID) async throws -> Int?

    /// Stores a personal token by the hash of its secret.
    func createToken(_ token: PersonalToken, secretHash: String) async throws
    func tokens(userID: UserID) async throws -> [PersonalToken]
    func deleteToken(id: String, userID: UserID) async throws -> Bool
    /// The token with this secret hash, its last use set to `now`.
    func useToken(secretHash: String, at now: Timestamp) async throws -> PersonalToken?

    /// Marks up to `limit` reminders due at `now` as fired and returns how many. Each reminder is
    /// claimed by exactly one caller, also with several processes (a `reminder.due` event records it).
    func claimDueReminders(at now: Timestamp, limit: Int) async throws -> Int
    /// Events of every user after `id`, oldest first.
    func events(after id: Int64, limit: Int) async throws -> [TaskEvent]
    /// Events of one user after `id`, oldest first (to resume a stream).
    func events(userID: UserID, after id: Int64, limit: Int) async throws -> [TaskEvent]
    func latestEventID() async throws -> Int64
    func pruneEvents(before time: Timestamp) async throws
    /// Stores a new conversation; nil when the user does not exist.
    func createConversation(_ conversation: Conversation) async throws -> Conversation?
    func conversation(id: String, userID: UserID) async throws -> Conversation?
    /// The user's conversations, most recently active first.
    func conversations(userID: UserID, limit: Int) async throws -> [Conversation]
    /// Appends messages (in order) and marks the conversation active at `time`.
    func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws
    /// The last `limit` messages of a conversation, oldest first.
    func messages(conversationID: String, limit: Int) async throws -> [ChatMessage]

    /// Calls `wake` when another process may have written events; returns only when cancelled.
    func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws
}

extension TodoRepository {
    /// Stores a new task made of `fields`.
    public func insertTask(_ fields: TaskFields, userID: UserID, at now: Timestamp) async throws -> TodoTask? {
        try await insertTask(.new(fields, userID: userID, at: now))
    }

    /// Every task of the user, oldest first, read page by page.
    public func allTasks(userID: UserID) async throws -> [TodoTask] {
        var query = TaskQuery()
        query.sort = .init(field: .created, descending: false)
        query.limit = TaskQuery.maximumLimit
        var tasks: [TodoTask] = []
        repeat {
            let page = try await listTasks(userID: userID, query: query)
            tasks += page.items
            query.cursor = page.nextCursor
        } while query.cursor != nil
        return tasks
    }

    public func saveTask(_ task: TodoTask, expectedVersion: Int) async throws -> Bool {
        if case .saved = try await saveTask(task, expectedVersion: expectedVersion, followedBy: nil) { return true }
        return false
    }
}

extension ChatMessage {
    /// The tool calls as stored: JSON, or nil for none.
    var storedToolCalls: String? {
        guard !toolCalls.isEmpty, let data = try? JSONEncoder().encode(toolCalls) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    init(role: String, content: String, storedToolCalls: String?, toolCallID: String?, createdAt: Timestamp) throws {
        guard let role = Role(rawValue: role) else { throw StoreUnavailable("unknown message role \(role)") }
        let calls = try storedToolCalls.map { try JSONDecoder().decode([ToolCall].self, from: Data($0.utf8)) } ?? []
        self.init(role: role, content: content, toolCalls: calls, toolCallID: toolCallID, createdAt: createdAt)
    }
}

public enum SaveOutcome: Sendable, Equatable {
    /// Saved; carries the next occurrence when one was stored.
    case saved(next: TodoTask?)
    /// The task is gone or was changed meanwhile.
    case conflict
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
