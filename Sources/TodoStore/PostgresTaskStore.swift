import Logging
import PostgresNIO
import TodoCore

/// Tasks on PostgreSQL. The hot paths (get one, the default first page, create) use the
/// prepared statements of `PostgresStatements.swift`.
final class PostgresTaskStore: TaskStore {
    private let database: PostgresDatabase

    /// New tasks, inserted and committed in groups (see `insertTogether`).
    private let inserts: WriteGroups<NewTask, Int64?>

    /// A task waiting for its group, and when its caller's `timeout` runs out: waiting for the
    /// group ahead counts, so a create fails within `timeout` even while the database is down.
    private struct NewTask: Sendable {
        var task: TodoTask
        var deadline: ContinuousClock.Instant
    }

    init(database: PostgresDatabase) {
        self.database = database
        self.inserts = WriteGroups { group in await Self.insertTogether(group, database: database) }
    }

    func insertTask(_ task: TodoTask) async throws -> TodoTask? {
        guard let id = try await StoreError.translating({
            try await inserts.write(NewTask(task: task, deadline: .now + database.timeout))
        }) else { return nil }
        database.announcer.changed()
        var stored = task
        stored.id = id
        return stored
    }

    /// Inserts a group of new tasks with one statement (`InsertTasksStatement`) and one commit:
    /// creating tasks was bound by round trips and commits, two of each per task. A server error
    /// (a constraint, say) fails the whole statement; then each task goes on its own, so that a
    /// bad task fails alone. Tasks whose deadline passed while they waited fail without running.
    private static func insertTogether(_ group: [WriteGroups<NewTask, Int64?>.Write], database: PostgresDatabase) async {
        let group = group.filter { write in
            if remaining(write.input.deadline) != nil { return true }
            write.fail(Self.expired)
            return false
        }
        if group.count > 1, let limit = remaining(group.map(\.input.deadline).min()!) {
            do {
                let statement = InsertTasksStatement(tasks: group.map(\.input.task))
                let ids = try await database.write(within: limit) { connection, logger in
                    var ids: [Int64?] = []
                    for try await id in try await connection.execute(statement, logger: logger) { ids.append(id) }
                    return ids
                }
                guard ids.count == group.count else { throw StoreError.invalid("a group insert returned \(ids.count) of \(group.count) rows") }
                for (write, id) in zip(group, ids) { write.succeed(id) }
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
                    try await insert(write.input.task, on: connection, logger: logger)
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

    /// The new task's id, or nil when its user does not exist.
    private static func insert(_ task: TodoTask, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        var id: Int64?
        for try await value in try await connection.execute(InsertTaskStatement(task: task), logger: logger) { id = value }
        return id
    }

    func task(id: TaskID, userID: UserID) async throws -> TodoTask? {
        try await database.execute(TaskByIDStatement(id: id, userID: userID)).last
    }

    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage {
        if let newest = NewestTasksStatement(userID: userID, query: query) {
            let rows = try await database.run { client, logger in
                var tasks: [(task: TodoTask, titleKey: String?)] = []
                tasks.reserveCapacity(NewestTasksStatement.rows)
                for try await task in try await client.execute(newest, logger: logger) { tasks.append((task, nil)) }
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

    func saveTask(_ task: TodoTask, expectedVersion: Int, followedBy next: TodoTask?) async throws -> SaveOutcome {
        guard let next else {
            let saved = try await database.write(UpdateTaskStatement.query(task, expectedVersion: expectedVersion), PostgresDatabase.hasRows)
            guard saved else { return .conflict }
            database.announcer.changed()
            return .saved(next: nil)
        }
        let outcome = try await database.transaction { connection, logger in
            var stored = next
            guard let newID = try await Self.insert(next, on: connection, logger: logger) else { throw PostgresDatabase.Rollback() }
            stored.id = newID
            var linked = task
            linked.nextOccurrenceID = newID
            let updated = try await connection.query(UpdateTaskStatement.query(linked, expectedVersion: expectedVersion), logger: logger)
            guard try await PostgresDatabase.hasRows(updated) else { throw PostgresDatabase.Rollback() }
            return SaveOutcome.saved(next: stored)
        }
        guard let outcome else { return .conflict }
        database.announcer.changed()
        return outcome
    }

    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome {
        let version = expectedVersion.map(Int32.init)
        let deleted = try await database.write(
            """
            DELETE FROM tasks WHERE id = \(id) AND user_id = \(userID) AND (\(version)::integer IS NULL OR version = \(version))
            RETURNING id
            """,
            PostgresDatabase.hasRows)
        if deleted {
            database.announcer.changed()
            return .deleted
        }
        guard expectedVersion != nil, try await task(id: id, userID: userID) != nil else { return .notFound }
        return .versionMismatch
    }

    func importTasks(_ tasks: [TodoTask], userID: UserID) async throws -> Int? {
        let count = try await database.transaction { connection, logger in
            for task in tasks {
                var owned = task
                owned.userID = userID
                guard try await Self.insert(owned, on: connection, logger: logger) != nil else { throw PostgresDatabase.Rollback() }
            }
            return tasks.count
        }
        if count != nil { database.announcer.changed() }
        return count
    }
}
