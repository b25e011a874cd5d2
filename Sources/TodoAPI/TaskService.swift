import TodoCore
import TodoStore

/// Changes to existing tasks: read, apply the change in the domain, write back only if nobody
/// changed the task meanwhile (optimistic concurrency on `version`).
struct TaskService: Sendable {
    let tasks: any TaskStore
    /// The user's quota of tasks, which a completed recurring task's next occurrence counts against.
    let taskLimit: Int
    /// A write lost to a concurrent one is retried this many times when the client sent no If-Match.
    static let attempts = 5

    func task(id: TaskID, userID: UserID) async throws -> TodoTask {
        guard let task = try await tasks.task(id: id, userID: userID) else { throw APIError.taskNotFound }
        return task
    }

    /// Applies `change` to the task's fields. With `ifVersion`, the task must still be at that
    /// version (412 otherwise); without it, a concurrent write makes us re-read and re-apply.
    /// Completing a recurring task stores its next occurrence in the same transaction; at the task
    /// quota neither is stored (409): the series is never cut short, only its completion refused.
    func update(
        id: TaskID, userID: UserID, ifVersion: Int?,
        change: (TodoTask) throws -> TaskFields
    ) async throws -> TodoTask {
        for _ in 0..<Self.attempts {
            let current = try await task(id: id, userID: userID)
            if let ifVersion, current.version != ifVersion { throw APIError.preconditionFailed }
            let now = Timestamp.now()
            var updated = current.replacingFields(with: try change(current), at: now)
            let followUp = Self.followUp(completing: current, as: updated, at: now)
            if case .saved(let next) = try await tasks.saveTask(updated, expectedVersion: current.version, followedBy: followUp, taskLimit: taskLimit) {
                updated.nextOccurrenceID = next?.id ?? updated.nextOccurrenceID
                return updated
            }
            if ifVersion != nil { throw APIError.preconditionFailed }
        }
        throw APIError(.conflict, code: "conflict", message: "the task is changing too often; try again")
    }

    /// The next occurrence to store when this change completes a recurring task.
    static func followUp(completing current: TodoTask, as updated: TodoTask, at now: Timestamp) -> TodoTask? {
        guard !current.fields.completed, updated.fields.completed, let (fields, series) = updated.nextOccurrence() else { return nil }
        var next = TodoTask.new(fields, userID: updated.userID, at: now)
        next.series = series
        return next
    }

    func delete(id: TaskID, userID: UserID, ifVersion: Int?) async throws {
        switch try await tasks.deleteTask(id: id, userID: userID, expectedVersion: ifVersion) {
        case .deleted: return
        case .notFound: throw APIError.taskNotFound
        case .versionMismatch: throw APIError.preconditionFailed
        }
    }
}
