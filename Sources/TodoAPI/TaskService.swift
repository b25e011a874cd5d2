import TodoCore
import TodoStore

/// Changes to existing tasks: read, apply the change in the domain, write back only if nobody
/// changed the task meanwhile (optimistic concurrency on `version`). Access is decided by the
/// statements (`TaskStore`); the projects are asked why only when a write was refused.
struct TaskService: Sendable {
    let tasks: any TaskStore
    let projects: any ProjectStore
    /// The user's quota of tasks, which a completed recurring task's next occurrence counts against.
    let taskLimit: Int
    /// A write lost to a concurrent one is retried this many times when the client sent no If-Match.
    static let attempts = 5
    /// Sub-tasks nest at most this deep: a top-level task is level 1.
    static let maximumDepth = TaskLimits.levels

    func task(id: TaskID, userID: UserID) async throws -> TodoTask {
        guard let task = try await tasks.task(id: id, userID: userID) else { throw APIError.taskNotFound }
        return task
    }

    /// Stores a new task for `userID`, placed by `placement` (default: the end of the Inbox; a
    /// sub-task without a project goes to its parent's).
    func create(_ fields: TaskFields, placement: TaskPatch, userID: UserID) async throws -> TodoTask {
        var task = placement.placed(TodoTask.new(fields, userID: userID, at: .now()))
        if let parentID = task.parentID {
            let parent = try await checkParent(parentID, of: task, userID: userID)
            task.projectID = task.projectID ?? parent.projectID
            guard parent.projectID == task.projectID else { throw Self.parentElsewhere }
        }
        guard let stored = try await tasks.insertTask(task, limit: taskLimit) else {
            if let project = task.projectID { try await checkWrite(project: project, userID: userID, field: "project_id") }
            if task.assigneeID != nil { throw Self.notAMember }
            throw APIError.unauthorized("the account no longer exists")
        }
        return stored
    }

    /// Applies `change` to the task's fields, and `placement` to where it is. With `ifVersion`,
    /// the task must still be at that version (412 otherwise); without it, a concurrent write
    /// makes us re-read and re-apply. Completing a recurring task stores its next occurrence in
    /// the same transaction; at the task quota neither is stored (409): the series is never cut
    /// short, only its completion refused.
    func update(
        id: TaskID, userID: UserID, ifVersion: Int?, placement: TaskPatch? = nil,
        change: (TodoTask) throws -> TaskFields
    ) async throws -> TodoTask {
        for _ in 0..<Self.attempts {
            let current = try await task(id: id, userID: userID)
            if let ifVersion, current.version != ifVersion { throw APIError.preconditionFailed }
            let now = Timestamp.now()
            var updated = current.replacingFields(with: try change(current), at: now)
            if let placement, placement.movesTask || placement.assigneeID != nil {
                updated = placement.placed(updated)
                if let project = updated.projectID, project != current.projectID {
                    try await checkWrite(project: project, userID: userID, field: "project_id")
                    // A task moved where its assignee is no member leaves them, unless reassigned.
                    if placement.assigneeID == nil, let assignee = updated.assigneeID,
                       try await projects.role(userID: assignee, projectID: project) == nil
                    {
                        updated.assigneeID = nil
                    }
                }
                if let parentID = updated.parentID, parentID != current.parentID || updated.projectID != current.projectID {
                    let parent = try await checkParent(parentID, of: updated, userID: userID)
                    guard parent.projectID == updated.projectID else { throw Self.parentElsewhere }
                }
            }
            let followUp = Self.followUp(completing: current, as: updated, at: now)
            if case .saved(let next) = try await tasks.saveTask(
                updated, by: userID, expectedVersion: current.version, followedBy: followUp, taskLimit: taskLimit)
            {
                updated.nextOccurrenceID = next?.id ?? updated.nextOccurrenceID
                if !current.fields.completed, updated.fields.completed {
                    _ = try await tasks.completeSubtasks(of: id, by: userID, at: now)
                    if let next { try await copySubtasks(of: current, to: next, at: now) }
                }
                // A task moved without a position was put at the end of its new project; one
                // given a neighbour's position made its project renumbered.
                if let position = placement?.position, let project = updated.projectID,
                   try await tasks.settlePosition(position, of: id, in: project)
                {
                    return try await task(id: id, userID: userID)
                }
                if updated.position == nil { return try await task(id: id, userID: userID) }
                return updated
            }
            if let project = current.projectID { try await checkWrite(project: project, userID: userID, field: nil) }
            if let assignee = updated.assigneeID, let project = updated.projectID ?? current.projectID,
               try await projects.role(userID: assignee, projectID: project) == nil
            {
                throw Self.notAMember
            }
            if ifVersion != nil { throw APIError.preconditionFailed }
        }
        throw APIError(.conflict, code: "conflict", message: "the task is changing too often; try again")
    }

    /// The next occurrence to store when this change completes a recurring task: in the same
    /// project, under the same parent, at the end of the project.
    static func followUp(completing current: TodoTask, as updated: TodoTask, at now: Timestamp) -> TodoTask? {
        guard !current.fields.completed, updated.fields.completed, let (fields, series) = updated.nextOccurrence() else { return nil }
        var next = TodoTask.new(fields, userID: updated.userID, at: now)
        next.series = series
        next.projectID = updated.projectID
        next.parentID = updated.parentID
        next.assigneeID = updated.assigneeID
        return next
    }

    /// Gives a recurring task's next occurrence a copy of the sub-tasks of the one completed, at
    /// every level, reopened, their times moved by as much as the parent's due time moved. Sub-tasks
    /// beyond the quota are left out: the completion itself has been stored.
    func copySubtasks(of completed: TodoTask, to next: TodoTask, at now: Timestamp) async throws {
        let shift = next.fields.dueAt.flatMap { due in completed.fields.dueAt.map { due.millisecondsSinceEpoch - $0.millisecondsSinceEpoch } } ?? 0
        func moved(_ time: Timestamp?) -> Timestamp? { time.map { Timestamp(millisecondsSinceEpoch: $0.millisecondsSinceEpoch + shift) } }
        var level: [(from: TaskID, to: TaskID)] = [(completed.id, next.id)]
        for _ in 1..<Self.maximumDepth where !level.isEmpty {
            var below: [(from: TaskID, to: TaskID)] = []
            for (from, to) in level {
                var query = TaskQuery()
                query.parent = .task(from)
                query.sort = .init(field: .position, descending: false)
                query.limit = TaskQuery.maximumLimit
                for child in try await tasks.listTasks(userID: completed.userID, query: query).items {
                    var fields = child.fields
                    fields.completed = false
                    fields.dueAt = moved(fields.dueAt)
                    fields.remindAt = moved(fields.remindAt)
                    var copy = TodoTask.new(fields, userID: child.userID, at: now)
                    copy.projectID = next.projectID
                    copy.parentID = to
                    do {
                        guard let stored = try await tasks.insertTask(copy, limit: taskLimit) else { continue }
                        below.append((child.id, stored.id))
                    } catch is QuotaReached {
                        return
                    }
                }
            }
            level = below
        }
    }

    func delete(id: TaskID, userID: UserID, ifVersion: Int?) async throws {
        switch try await tasks.deleteTask(id: id, userID: userID, expectedVersion: ifVersion) {
        case .deleted: return
        case .notFound: throw APIError.taskNotFound
        case .versionMismatch: throw APIError.preconditionFailed
        case .forbidden: throw APIError.readOnlyProject
        }
    }

    /// That `userID` may write the tasks of `project`: 403 for a viewer; for a non-member, 404
    /// (the task's own project, `field` nil) or 422 naming the field that named the project.
    func checkWrite(project: ProjectID, userID: UserID, field: String?) async throws {
        switch try await projects.role(userID: userID, projectID: project) {
        case nil:
            if let field { throw ValidationError(field: field, "no such project") }
            throw APIError.taskNotFound
        case let role? where !role.writesTasks: throw APIError.readOnlyProject
        default: return
        }
    }

    /// The parent `parentID` of `task`, if it may be: a task the caller sees, not `task` itself
    /// nor one of its sub-tasks, with `task` and its sub-tasks at most `maximumDepth` levels deep.
    func checkParent(_ parentID: TaskID, of task: TodoTask, userID: UserID) async throws -> TodoTask {
        guard parentID != task.id, let parent = try await tasks.task(id: parentID, userID: userID) else { throw Self.parentElsewhere }
        var level = 1, ancestor = parent
        while let next = ancestor.parentID {
            if next == task.id { throw ValidationError(field: "parent_id", "must not be one of the task's own sub-tasks") }
            guard let above = try await tasks.task(id: next, userID: userID), level < Self.maximumDepth else { break }
            ancestor = above
            level += 1
        }
        let height = task.id > 0 ? try await subtreeHeight(of: task.id, userID: userID, limit: Self.maximumDepth) : 1
        guard level + height <= Self.maximumDepth else {
            throw ValidationError(field: "parent_id", "sub-tasks nest at most \(Self.maximumDepth) levels deep")
        }
        return parent
    }

    /// The levels of `taskID` and its sub-tasks (1 without any), counted up to `limit + 1`.
    private func subtreeHeight(of taskID: TaskID, userID: UserID, limit: Int) async throws -> Int {
        var level = [taskID], height = 1
        while height <= limit {
            var below: [TaskID] = []
            for parent in level {
                var query = TaskQuery()
                query.parent = .task(parent)
                query.limit = TaskQuery.maximumLimit
                below += try await tasks.listTasks(userID: userID, query: query).items.map(\.id)
            }
            guard !below.isEmpty else { break }
            level = below
            height += 1
        }
        return height
    }

    static var notAMember: ValidationError { ValidationError(field: "assignee_id", "must be a member of the task's project") }

    static var parentElsewhere: ValidationError { ValidationError(field: "parent_id", "must be a task in the same project") }
}
