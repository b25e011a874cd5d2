import Logging
import PostgresNIO
import TodoCore

/// Tasks on PostgreSQL. The hot paths (get one, the default first page, create) use the
/// prepared statements of `PostgresStatements.swift`.
final class PostgresTaskStore: TaskStore {
    private let database: PostgresDatabase

    /// New tasks, inserted and committed in groups (see `insertTogether`).
    private let inserts: WriteGroups<NewTask, TaskInsertOutcome>

    /// A task waiting for its group, its owner's quota, and when its caller's `timeout` runs out:
    /// waiting for the group ahead counts, so a create fails within `timeout` even while the
    /// database is down.
    private struct NewTask: Sendable {
        var task: TodoTask
        var limit: Int
        var deadline: ContinuousClock.Instant
    }

    init(database: PostgresDatabase) {
        self.database = database
        self.inserts = WriteGroups { group in await Self.insertTogether(group, database: database) }
    }

    func insertTask(_ task: TodoTask, limit: Int) async throws -> TodoTask? {
        let outcome = try await StoreError.translating {
            try await inserts.write(NewTask(task: task, limit: limit, deadline: .now + database.timeout))
        }
        switch outcome {
        case .inserted(let id, let project, let position):
            database.announcer.changed()
            var stored = task
            stored.id = id
            stored.projectID = project
            stored.position = position
            return stored
        case .ownerMissing: return nil
        case .quotaReached:
            // Or refused the project: asked only now, on the rare path.
            let count = try await database.query("SELECT task_count FROM users WHERE id = \(task.userID)") { rows in
                var count: Int32?
                for try await value in rows.decode(Int32.self) { count = value }
                return count
            }
            guard let count, Int(count) >= limit else { return nil }
            throw QuotaReached(.tasks, limit: limit)
        }
    }

    /// Inserts a group of new tasks with one statement (`InsertTasksStatement`) and one commit:
    /// creating tasks was bound by round trips and commits, two of each per task. A server error
    /// (a constraint, say) fails the whole statement; then each task goes on its own, so that a
    /// bad task fails alone. Tasks whose deadline passed while they waited fail without running.
    private static func insertTogether(_ group: [WriteGroups<NewTask, TaskInsertOutcome>.Write], database: PostgresDatabase) async {
        let group = group.filter { write in
            if remaining(write.input.deadline) != nil { return true }
            write.fail(Self.expired)
            return false
        }
        if group.count > 1, let limit = remaining(group.map(\.input.deadline).min()!) {
            do {
                let statement = InsertTasksStatement(tasks: group.map { ($0.input.task, $0.input.limit) })
                let outcomes = try await database.write(within: limit) { connection, logger in
                    var outcomes: [TaskInsertOutcome] = []
                    for try await outcome in try await connection.execute(statement, logger: logger) { outcomes.append(outcome) }
                    return outcomes
                }
                guard outcomes.count == group.count else {
                    throw StoreError.invalid("a group insert returned \(outcomes.count) of \(group.count) rows")
                }
                for (write, outcome) in zip(group, outcomes) { write.succeed(outcome) }
                return
            } catch let error as StoreError where error.kind != .unavailable {
                database.logger.debug("a group insert failed; inserting its tasks one by one", metadata: ["error": "\(error)"])
            } catch {
                for write in group { write.fail(error) }
                return
            }
        }
        for write in group {
            do {
                guard let limit = remaining(write.input.deadline) else { throw Self.expired }
                write.succeed(try await database.write(within: limit) { connection, logger in
                    try await insert(write.input.task, limit: write.input.limit, on: connection, logger: logger)
                })
            } catch {
                write.fail(error)
            }
        }
    }

    /// A create whose deadline passed while it waited for its group.
    private static var expired: StoreError { .unavailable("the database did not answer in time") }

    /// The time left until `deadline`, or nil when it has passed.
    private static func remaining(_ deadline: ContinuousClock.Instant) -> Duration? {
        let left = deadline - .now
        return left > .zero ? left : nil
    }

    private static func insert(_ task: TodoTask, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> TaskInsertOutcome {
        var rows: [TaskInsertOutcome] = []
        for try await row in try await connection.execute(InsertTaskStatement(task: task, limit: limit), logger: logger) { rows.append(row) }
        return InsertTaskStatement.outcome(rows)
    }

    func task(id: TaskID, userID: UserID) async throws -> TodoTask? {
        try await database.execute(TaskByIDStatement(id: id, userID: userID)).last
    }

    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage {
        if let newest = NewestTasksStatement(userID: userID, query: query) {
            let rows = try await database.run { connection, logger in
                var tasks: [(task: TodoTask, titleKey: String?)] = []
                tasks.reserveCapacity(NewestTasksStatement.rows)
                for try await task in try await connection.execute(newest, logger: logger) { tasks.append((task, nil)) }
                return tasks
            }
            return TaskListSQL.page(rows: rows, query: query)
        }
        let list = TaskListSQL(userID: userID, query: query, dialect: .postgres)
        let rows = try await database.query(PostgresQuery(unsafeSQL: list.sql, binds: list.bindings)) { rows in
            var decoded: [(task: TodoTask, titleKey: String?)] = []
            decoded.reserveCapacity(query.limit + 1)
            for try await row in rows {
                let titleKey = query.sort.field == .title ? try row.makeRandomAccess()["sort_key"].decode(String.self, context: .default) : nil
                decoded.append((try TaskRecordReader.task(row), titleKey))
            }
            return decoded
        }
        return TaskListSQL.page(rows: rows, query: query)
    }

    func saveTask(_ task: TodoTask, by actor: UserID, expectedVersion: Int, followedBy next: TodoTask?, taskLimit: Int) async throws -> SaveOutcome {
        guard let next else {
            let saved = try await database.write(UpdateTaskStatement.query(task, by: actor, expectedVersion: expectedVersion), PostgresDatabase.hasRows)
            guard saved else { return .conflict }
            database.announcer.changed()
            return .saved(next: nil)
        }
        let outcome = try await database.transaction { connection, logger -> Result<SaveOutcome, QuotaReached> in
            // The task's row first, then (inserting) its owner's: a delete takes them in that
            // order too (the row, then its trigger's count), so the two never deadlock.
            let current = try await connection.query(
                """
                SELECT 1 FROM tasks WHERE id = \(task.id) AND version = \(Int32(expectedVersion))
                AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = tasks.project_id AND m.user_id = \(actor) AND m.role IN ('owner', 'editor'))
                FOR NO KEY UPDATE
                """,
                logger: logger)
            guard try await PostgresDatabase.hasRows(current) else { throw PostgresDatabase.Rollback() }
            var stored = next
            switch try await Self.insert(next, limit: taskLimit, on: connection, logger: logger) {
            case .inserted(let id, let project, let position):
                stored.id = id
                stored.projectID = project
                stored.position = position
            case .quotaReached: return .failure(QuotaReached(.tasks, limit: taskLimit))
            case .ownerMissing: throw PostgresDatabase.Rollback()
            }
            var linked = task
            linked.nextOccurrenceID = stored.id
            let updated = try await connection.query(UpdateTaskStatement.query(linked, by: actor, expectedVersion: expectedVersion), logger: logger)
            guard try await PostgresDatabase.hasRows(updated) else { throw PostgresDatabase.Rollback() }
            return .success(.saved(next: stored))
        }
        guard let saved = try outcome?.get() else { return .conflict }
        database.announcer.changed()
        return saved
    }

    func completeSubtasks(of parentID: TaskID, by actor: UserID, at now: Timestamp) async throws -> Int {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(parentID)
        bindings.append(actor)
        bindings.append(now)
        let count = try await database.write(PostgresQuery(unsafeSQL: TaskSQL.postgres.completeBelow, binds: bindings)) { rows in
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
        if count > 0 { database.announcer.changed() }
        return count
    }

    func settlePosition(_ position: Double, of taskID: TaskID, in projectID: ProjectID) async throws -> Bool {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(projectID)
        bindings.append(position)
        bindings.append(taskID)
        return try await database.write(PostgresQuery(unsafeSQL: TaskSQL.postgres.renumberIfCrowded, binds: bindings), PostgresDatabase.hasRows)
    }

    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome {
        let version = expectedVersion.map(Int32.init)
        let deleted = try await database.write(
            """
            DELETE FROM tasks WHERE id = \(id) AND (\(version)::integer IS NULL OR version = \(version))
            AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = tasks.project_id AND m.user_id = \(userID) AND m.role IN ('owner', 'editor'))
            RETURNING id
            """,
            PostgresDatabase.hasRows)
        if deleted {
            database.announcer.changed()
            return .deleted
        }
        return try await DeleteOutcome.refused(task(id: id, userID: userID), expectedVersion: expectedVersion) { project in
            try await PostgresProjectStore(database: database).role(userID: userID, projectID: project)
        }
    }

    func importTasks(_ plan: ImportPlan, userID: UserID, limit: Int) async throws -> [ProjectID]? {
        // The new projects' ids come first, so that the top level's statement, which names them,
        // is encoded before a connection is leased (`InsertTasksStatement.init`).
        let projectIDs = try await PostgresProjectStore.reserveIDs(plan.projects.count, in: database)
        let placed = plan.tasks.map { entry in
            var task = entry.task
            task.userID = userID
            task.projectID = entry.project.map { projectIDs[$0] }
            return task
        }
        let levels = plan.levels, now = Timestamp.now()
        let top = InsertTasksStatement(tasks: (levels.first ?? []).map { (task: placed[$0], limit: limit) })
        let outcome = try await database.transaction { connection, logger -> Result<[ProjectID], QuotaReached> in
            // Locked, so that the count stays as read until the inserts commit.
            let owner = try await connection.query("SELECT task_count FROM users WHERE id = \(userID) FOR NO KEY UPDATE", logger: logger)
            var count: Int32?
            for try await value in owner.decode(Int32.self) { count = value }
            guard let count else { throw PostgresDatabase.Rollback() }
            guard Int(count) + placed.count <= limit else { return .failure(QuotaReached(.tasks, limit: limit)) }
            for (project, id) in zip(plan.projects, projectIDs) {
                guard try await PostgresProjectStore.insert(project, id: id, userID: userID, at: now, on: connection, logger: logger) != nil else {
                    throw PostgresDatabase.Rollback()
                }
            }
            // Empty column arrays would bind no parameters at all: a statement needs a task.
            guard !placed.isEmpty else { return .success(projectIDs) }
            // The planner prices 10,000 rows high enough to compile the statement with JIT, which
            // took 1.4 s of a 2.5 s statement and saves nothing on rows this simple.
            try await connection.query("SET LOCAL jit = off", logger: logger)
            // A statement per level (one for a flat import), not per task: the count's trigger then
            // updates the user's row once a level. A statement per task updated it once each, and
            // every update in one transaction left a row version the next had to step over: 5,000
            // tasks took 3 s, 10,000 over 5 s. A level's sub-tasks learn their parents' ids from
            // the level before.
            var ids = [TaskID](repeating: 0, count: placed.count)
            for (depth, level) in levels.enumerated() {
                let statement = depth == 0 ? top : InsertTasksStatement(tasks: level.map { index in
                    var task = placed[index]
                    task.parentID = plan.tasks[index].parent.map { ids[$0] }
                    return (task: task, limit: limit)
                })
                var inserted = 0
                for try await outcome in try await connection.execute(statement, logger: logger) {
                    guard case .inserted(let id, _, _) = outcome else { throw PostgresDatabase.Rollback() }
                    ids[level[inserted]] = id
                    inserted += 1
                }
                guard inserted == level.count else { throw StoreError.invalid("an import inserted \(inserted) of \(level.count) tasks") }
            }
            return .success(projectIDs)
        }
        guard let created = try outcome?.get() else { return nil }
        database.announcer.changed()
        if placed.count >= Self.analyzedImportSize { try await analyzeTasks() }
        return created
    }

    /// An import this large can change how many tasks a user has tenfold at once; the planner
    /// learns it now rather than at autovacuum's next look (on a table grown twentyfold, a
    /// mixed workload ran eight times slower until the table was analysed).
    static let analyzedImportSize = 1000

    private func analyzeTasks() async throws {
        _ = try await database.write("ANALYZE tasks", PostgresDatabase.hasRows)
    }
}
