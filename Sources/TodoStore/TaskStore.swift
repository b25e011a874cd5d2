import TodoCore

/// Tasks: each belongs to one project and was created by one user (`userID`), who may create at
/// most a number of them (`limit`). A user's count lives on the user's row, kept by triggers on
/// every insert and delete; each write that adds tasks checks it while it holds that row, so
/// concurrent writes are counted one at a time.
///
/// Access comes from membership, in each statement: a member of a task's project (any role)
/// reads it, an owner or editor writes it. A task a caller may not read is not found.
public protocol TaskStore: Sendable {
    /// Stores a new task (its `id` is ignored) for an existing user who has fewer than `limit`
    /// tasks, in `task.projectID` (nil: the user's Inbox), at `task.position` (nil: the end);
    /// nil when the user does not exist (any more) or may not write that project,
    /// `QuotaReached` when the user has `limit`.
    func insertTask(_ task: TodoTask, limit: Int) async throws -> TodoTask?
    /// The task, if `userID` is a member of its project.
    func task(id: TaskID, userID: UserID) async throws -> TodoTask?
    /// The tasks of the projects `userID` is a member of.
    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage
    /// Writes `task` over the stored row if the stored version is still `expectedVersion` and
    /// `actor` may write both the task's project and `task.projectID` (a move); a nil position
    /// is the end of the project. With `next`, also stores that task and links it as `task`'s
    /// next occurrence, in the same transaction; if the user has `taskLimit` tasks, nothing is
    /// written (`QuotaReached`).
    func saveTask(_ task: TodoTask, by actor: UserID, expectedVersion: Int, followedBy next: TodoTask?, taskLimit: Int) async throws -> SaveOutcome
    /// Completes the open sub-tasks of `parentID`, at every level below it, that `actor` may
    /// write (each a change: version incremented, an event recorded); returns how many.
    func completeSubtasks(of parentID: TaskID, by actor: UserID, at now: Timestamp) async throws -> Int
    /// After `taskID` was given `position` in `projectID`: when another task of the project has
    /// that position too (no number was left between two neighbours), renumbers the project's
    /// order in steps of `ManualOrder.step`, the task just before the other one; true when it did.
    /// Only positions change (no version, no event).
    func settlePosition(_ position: Double, of taskID: TaskID, in projectID: ProjectID) async throws -> Bool
    /// Deletes the task (only at `expectedVersion` when given), if `userID` may write its project.
    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome
    /// Stores the whole plan or nothing: its projects, owned by `userID` after their others, and
    /// its tasks; nothing when the tasks would take the user past `limit` (`QuotaReached`).
    /// Answers the new projects' ids in the plan's order; nil when the user does not exist.
    func importTasks(_ plan: ImportPlan, userID: UserID, limit: Int) async throws -> [ProjectID]?
}

extension TaskStore {
    /// Stores a new task made of `fields`.
    public func insertTask(_ fields: TaskFields, userID: UserID, at now: Timestamp, limit: Int) async throws -> TodoTask? {
        try await insertTask(.new(fields, userID: userID, at: now), limit: limit)
    }

    /// Every task of the user, oldest first, read page by page.
    public func allTasks(userID: UserID) async throws -> [TodoTask] {
        var tasks: [TodoTask] = []
        var page = try await tasksOldestFirst(userID: userID, after: nil)
        tasks += page.items
        while let cursor = page.nextCursor {
            page = try await tasksOldestFirst(userID: userID, after: cursor)
            tasks += page.items
        }
        return tasks
    }

    /// A page of the user's tasks, oldest first: the first, or the one after `cursor` (keyset
    /// pagination, so each page costs the same however far in it is). A thousand a page:
    /// exporting 100,000 tasks from PostgreSQL took 9.0 s at 200 a page (a statement's fixed
    /// cost, 500 times) and 2.8 s at 1,000, with the same peak memory (bench/RESULTS.md).
    public func tasksOldestFirst(userID: UserID, after cursor: TaskCursor?) async throws -> TaskPage {
        var query = TaskQuery()
        query.sort = .init(field: .created, descending: false)
        query.limit = 1000
        query.cursor = cursor
        return try await listTasks(userID: userID, query: query)
    }

    /// Saves `task` as its creator.
    public func saveTask(_ task: TodoTask, expectedVersion: Int, followedBy next: TodoTask?, taskLimit: Int) async throws -> SaveOutcome {
        try await saveTask(task, by: task.userID, expectedVersion: expectedVersion, followedBy: next, taskLimit: taskLimit)
    }

    public func saveTask(_ task: TodoTask, expectedVersion: Int) async throws -> Bool {
        // Without a next occurrence nothing is added, so no quota applies.
        if case .saved = try await saveTask(task, expectedVersion: expectedVersion, followedBy: nil, taskLimit: .max) { return true }
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
    /// The caller may read the task but not delete it (a viewer).
    case forbidden

    /// Why a guarded delete touched no row, asked only then: the task as the caller sees it (nil:
    /// not a member, or gone), and the caller's role in its project.
    static func refused(
        _ visible: TodoTask?, expectedVersion: Int?, role: (ProjectID) async throws -> ProjectRole?
    ) async throws -> DeleteOutcome {
        guard let visible else { return .notFound }
        if let project = visible.projectID, let role = try await role(project), !role.writesTasks { return .forbidden }
        return expectedVersion != nil ? .versionMismatch : .notFound
    }
}
