import TodoCore

/// Tasks: each belongs to one user.
public protocol TaskStore: Sendable {
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
}

extension TaskStore {
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

public enum SaveOutcome: Sendable, Equatable {
    /// Saved; carries the next occurrence when one was stored.
    case saved(next: TodoTask?)
    /// The task is gone or was changed meanwhile.
    case conflict
}

public enum DeleteOutcome: Sendable, Equatable {
    case deleted, notFound, versionMismatch
}
