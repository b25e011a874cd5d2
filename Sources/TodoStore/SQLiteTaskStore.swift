import SQLiteNIO
import TodoCore

/// Tasks on SQLite.
struct SQLiteTaskStore: TaskStore {
    let database: SQLiteDatabase

    private static let insertSQL = """
        INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at,
                           recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id)
        SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
        WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)
        RETURNING id
        """

    private static let updateSQL = """
        UPDATE tasks SET title = ?1, description = ?2, completed = ?3, completed_at = ?4, priority = ?5, tags = ?6,
            due_at = ?7, remind_at = ?8, recurrence = ?9, version = ?10, updated_at = ?11, series_start = ?12,
            occurrence = ?13, next_occurrence_id = ?14,
            reminded_at = CASE WHEN remind_at IS ?8 THEN reminded_at ELSE NULL END
        WHERE id = ?15 AND user_id = ?16 AND version = ?17 RETURNING id
        """

    func insertTask(_ task: TodoTask) async throws -> TodoTask? {
        let rows = try await database.write(Self.insertSQL, Self.insertBinds(task))
        guard let id = rows.first?.column("id")?.integer else { return nil }
        var stored = task
        stored.id = TaskID(id)
        return stored
    }

    func task(id: TaskID, userID: UserID) async throws -> TodoTask? {
        try await database.read(
            "SELECT \(TaskListSQL.columns) FROM tasks WHERE id = ?1 AND user_id = ?2", [.integer(Int(id)), .text(userID)]
        ).first.map(Self.task)
    }

    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage {
        let list = TaskListSQL(userID: userID, query: query, dialect: .sqlite)
        let rows = try await database.read(list.sql, list.binds.map(Self.data))
        let byTitle = query.sort.field == .title
        let decoded = try rows.map { (task: try Self.task($0), titleKey: byTitle ? $0.column("sort_key")?.string : nil) }
        return TaskListSQL.page(rows: decoded, query: query)
    }

    func saveTask(_ task: TodoTask, expectedVersion: Int, followedBy next: TodoTask?) async throws -> SaveOutcome {
        guard let next else {
            let rows = try await database.write(Self.updateSQL, Self.updateBinds(task, expectedVersion: expectedVersion))
            return rows.isEmpty ? .conflict : .saved(next: nil)
        }
        return try await database.transaction { writer in
            let inserted = try await writer.query(Self.insertSQL, Self.insertBinds(next))
            guard let id = inserted.first?.column("id")?.integer else { throw SQLiteDatabase.Rollback() }
            var linked = task
            linked.nextOccurrenceID = TaskID(id)
            let updated = try await writer.query(Self.updateSQL, Self.updateBinds(linked, expectedVersion: expectedVersion))
            guard !updated.isEmpty else { throw SQLiteDatabase.Rollback() }
            var stored = next
            stored.id = TaskID(id)
            return SaveOutcome.saved(next: stored)
        } ?? .conflict
    }

    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome {
        let rows = try await database.write(
            "DELETE FROM tasks WHERE id = ?1 AND user_id = ?2 AND (?3 IS NULL OR version = ?3) RETURNING id",
            [.integer(Int(id)), .text(userID), expectedVersion.map(SQLiteData.integer) ?? .null])
        if !rows.isEmpty { return .deleted }
        guard expectedVersion != nil, try await task(id: id, userID: userID) != nil else { return .notFound }
        return .versionMismatch
    }

    func importTasks(_ tasks: [TodoTask], userID: UserID) async throws -> Int? {
        try await database.transaction { writer in
            for task in tasks {
                var owned = task
                owned.userID = userID
                guard try await !writer.query(Self.insertSQL, Self.insertBinds(owned)).isEmpty else { throw SQLiteDatabase.Rollback() }
            }
            return tasks.count
        }
    }

    // MARK: Row mapping

    private static func fieldBinds(_ fields: TaskFields, completedAt: Timestamp?) -> [SQLiteData] {
        [.text(fields.title), .text(fields.description), .integer(fields.completed ? 1 : 0), time(completedAt),
         .integer(fields.priority.rank), .text(RowCoding.joinTags(fields.tags)), time(fields.dueAt), time(fields.remindAt),
         RowCoding.encodeRecurrence(fields.recurrence).map(SQLiteData.text) ?? .null]
    }

    private static func insertBinds(_ task: TodoTask) -> [SQLiteData] {
        [.text(task.userID)] + fieldBinds(task.fields, completedAt: task.completedAt)
            + [.integer(task.version), time(task.createdAt), time(task.updatedAt), time(task.series?.start),
               .integer(task.series?.occurrence ?? 0), task.nextOccurrenceID.map { .integer(Int($0)) } ?? .null]
    }

    private static func updateBinds(_ task: TodoTask, expectedVersion: Int) -> [SQLiteData] {
        fieldBinds(task.fields, completedAt: task.completedAt)
            + [.integer(task.version), time(task.updatedAt), time(task.series?.start), .integer(task.series?.occurrence ?? 0),
               task.nextOccurrenceID.map { .integer(Int($0)) } ?? .null, .integer(Int(task.id)), .text(task.userID),
               .integer(expectedVersion)]
    }

    private static func time(_ value: Timestamp?) -> SQLiteData { SQLiteDatabase.time(value) }

    private static func data(_ bind: SQLBind) -> SQLiteData {
        switch bind {
        case .text(let text): .text(text)
        case .integer(let number): .integer(Int(number))
        case .time(let time): .integer(Int(time.millisecondsSinceEpoch))
        }
    }

    /// A row of `TaskListSQL.columns`, read by position: looking each cell up by name hashed
    /// 17 names per row (9 % of the backend's CPU when listing).
    private static func task(_ row: SQLiteRow) throws -> TodoTask {
        let cells = row.columns
        guard cells.count >= 17 else { throw StoreError.invalid("malformed tasks row") }
        func time(_ index: Int) -> Timestamp? { SQLiteDatabase.time(cells[index].data) }
        guard let id = cells[0].data.integer, let userID = cells[1].data.string, let title = cells[2].data.string,
              let rank = cells[6].data.integer, let version = cells[11].data.integer,
              let created = time(12), let updated = time(13)
        else { throw StoreError.invalid("malformed tasks row") }
        let fields = TaskFields(
            title: title,
            description: cells[3].data.string ?? "",
            completed: cells[4].data.integer == 1,
            priority: try RowCoding.priority(rank: rank),
            tags: RowCoding.splitTags(cells[7].data.string ?? ""),
            dueAt: time(8),
            remindAt: time(9),
            recurrence: try RowCoding.decodeRecurrence(cells[10].data.string))
        let series = time(14).map { Series(start: $0, occurrence: cells[15].data.integer ?? 0) }
        return TodoTask(id: TaskID(id), userID: userID, fields: fields, completedAt: time(5),
                        version: version, createdAt: created, updatedAt: updated, series: series,
                        nextOccurrenceID: cells[16].data.integer.map { TaskID($0) })
    }
}
