import SQLiteNIO
import TodoCore

/// Tasks on SQLite.
struct SQLiteTaskStore: TaskStore {
    let database: SQLiteDatabase

    /// A new task, if its owner exists, has fewer tasks than the limit and may write the task's
    /// project; returns its id, project and position. The count it reads is the count the insert
    /// trigger changes: SQLite's one writer runs one statement at a time.
    static let insert = """
        \(TaskSQL.sqlite.insertSelect) FROM users
        WHERE users.id = \(TaskSQL.sqlite.ownerParameter) AND users.task_count < \(TaskSQL.sqlite.limitParameter)
        AND \(TaskSQL.sqlite.insertAllowed) \(TaskSQL.insertReturning)
        """

    func insertTask(_ task: TodoTask, limit: Int) async throws -> TodoTask? {
        let rows = try await database.write(Self.insert, Self.insertBinds(task, limit: limit))
        guard let row = rows.first, let stored = Self.stored(task, row) else {
            // Refused: the owner is gone or may not write the project (nil), or at the quota.
            let owner = try await database.read(Self.selectTaskCount, [.text(task.userID)])
            guard let count = try Self.taskCount(owner), count >= limit else { return nil }
            throw QuotaReached(.tasks, limit: limit)
        }
        return stored
    }

    /// `task` as the insert returned it (`TaskSQL.insertReturning`).
    private static func stored(_ task: TodoTask, _ row: SQLiteRow) -> TodoTask? {
        guard let id = row.column("id")?.integer, let project = row.column("project_id")?.integer else { return nil }
        var stored = task
        stored.id = TaskID(id)
        stored.projectID = ProjectID(project)
        stored.position = row.column("position")?.double
        return stored
    }

    func task(id: TaskID, userID: UserID) async throws -> TodoTask? {
        try await database.read(
            TaskSQL.sqlite.byID, [.integer(Int(id)), .text(userID)]
        ).first.map(Self.task)
    }

    func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage {
        let list = TaskListSQL(userID: userID, query: query, dialect: .sqlite)
        let rows = try await database.read(list.sql, list.binds.map(Self.data))
        let byTitle = query.sort.field == .title
        let decoded = try rows.map { (task: try Self.task($0), titleKey: byTitle ? $0.column("sort_key")?.string : nil) }
        return TaskListSQL.page(rows: decoded, query: query)
    }

    func saveTask(_ task: TodoTask, by actor: UserID, expectedVersion: Int, followedBy next: TodoTask?, taskLimit: Int) async throws -> SaveOutcome {
        guard let next else {
            let rows = try await database.write(TaskSQL.sqlite.update, Self.updateBinds(task, by: actor, expectedVersion: expectedVersion))
            return rows.isEmpty ? .conflict : .saved(next: nil)
        }
        let outcome = try await database.transaction { writer -> Result<SaveOutcome, QuotaReached> in
            // The task first: a changed task is a conflict, whatever the quota says.
            let current = try await writer.query(
                "SELECT 1 FROM tasks WHERE id = ?1 AND version = ?3 AND \(TaskSQL.writer(project: "tasks.project_id", member: "?2"))",
                [.integer(Int(task.id)), .text(actor), .integer(expectedVersion)])
            guard !current.isEmpty else { throw SQLiteDatabase.Rollback() }
            let inserted = try await writer.query(Self.insert, Self.insertBinds(next, limit: taskLimit))
            guard let row = inserted.first, let stored = Self.stored(next, row) else { return .failure(QuotaReached(.tasks, limit: taskLimit)) }
            var linked = task
            linked.nextOccurrenceID = stored.id
            let updated = try await writer.query(TaskSQL.sqlite.update, Self.updateBinds(linked, by: actor, expectedVersion: expectedVersion))
            guard !updated.isEmpty else { throw SQLiteDatabase.Rollback() }
            return .success(.saved(next: stored))
        }
        return try outcome?.get() ?? .conflict
    }

    func completeSubtasks(of parentID: TaskID, by actor: UserID, at now: Timestamp) async throws -> Int {
        try await database.write(TaskSQL.sqlite.completeBelow, [.integer(Int(parentID)), .text(actor), SQLiteDatabase.time(now)]).count
    }

    func settlePosition(_ position: Double, of taskID: TaskID, in projectID: ProjectID) async throws -> Bool {
        try await !database.write(TaskSQL.sqlite.renumberIfCrowded, [.integer(Int(projectID)), .float(position), .integer(Int(taskID))]).isEmpty
    }

    func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome {
        let rows = try await database.write(
            "DELETE FROM tasks WHERE id = ?1 AND (?3 IS NULL OR version = ?3) AND \(TaskSQL.writer(project: "tasks.project_id", member: "?2")) RETURNING id",
            [.integer(Int(id)), .text(userID), expectedVersion.map(SQLiteData.integer) ?? .null])
        if !rows.isEmpty { return .deleted }
        return try await DeleteOutcome.refused(task(id: id, userID: userID), expectedVersion: expectedVersion) { project in
            try await SQLiteProjectStore(database: database).role(userID: userID, projectID: project)
        }
    }

    func importTasks(_ plan: ImportPlan, userID: UserID, limit: Int) async throws -> [ProjectID]? {
        let now = Timestamp.now()
        let outcome = try await database.transaction { writer -> Result<[ProjectID], QuotaReached> in
            guard let count = try Self.taskCount(try await writer.query(Self.selectTaskCount, [.text(userID)])) else {
                throw SQLiteDatabase.Rollback()
            }
            guard count + plan.tasks.count <= limit else { return .failure(QuotaReached(.tasks, limit: limit)) }
            var projectIDs: [ProjectID] = []
            for project in plan.projects {
                guard let id = try await SQLiteProjectStore.insert(project, userID: userID, at: now, on: writer) else { throw SQLiteDatabase.Rollback() }
                projectIDs.append(id)
            }
            // Parents come before their sub-tasks, so each learns its parent's id in time.
            var ids: [TaskID] = []
            for entry in plan.tasks {
                var task = entry.task
                task.userID = userID
                task.projectID = entry.project.map { projectIDs[$0] }
                task.parentID = entry.parent.map { ids[$0] }
                guard let row = try await writer.query(Self.insert, Self.insertBinds(task, limit: limit)).first,
                      let stored = Self.stored(task, row)
                else { throw SQLiteDatabase.Rollback() }
                ids.append(stored.id)
            }
            return .success(projectIDs)
        }
        return try outcome?.get()
    }

    /// The number of tasks of the user (`?1`): no row when the user does not exist.
    private static let selectTaskCount = "SELECT task_count FROM users WHERE id = ?1"

    private static func taskCount(_ rows: [SQLiteRow]) throws -> Int? {
        guard let row = rows.first else { return nil }
        guard let count = row.column("task_count")?.integer else { throw StoreError.invalid("malformed users row") }
        return count
    }

    // MARK: Row mapping

    private static func insertBinds(_ task: TodoTask, limit: Int) -> [SQLiteData] {
        var writer = SQLiteRowWriter()
        TaskRow.write(task, TaskColumn.inserted, to: &writer)
        return writer.values + [.integer(limit)]
    }

    private static func updateBinds(_ task: TodoTask, by actor: UserID, expectedVersion: Int) -> [SQLiteData] {
        var writer = SQLiteRowWriter()
        TaskRow.writeUpdate(task, by: actor, expectedVersion: expectedVersion, to: &writer)
        return writer.values
    }

    private static func data(_ bind: SQLBind) -> SQLiteData {
        switch bind {
        case .text(let text): .text(text)
        case .integer(let number): .integer(Int(number))
        case .double(let number): .float(number)
        case .time(let time): .integer(Int(time.millisecondsSinceEpoch))
        }
    }

    private static func task(_ row: SQLiteRow) throws -> TodoTask {
        var reader = SQLiteRowReader(row)
        return try TaskRow.read(from: &reader)
    }
}

/// A task's column values as SQLite stores them: times as milliseconds since the epoch,
/// booleans as 0 and 1, tags comma-joined (`RowCoding.joinTags`).
struct SQLiteRowWriter: TaskRowWriter {
    private(set) var values: [SQLiteData] = []

    mutating func text(_ value: String) { values.append(.text(value)) }
    mutating func optionalText(_ value: String?) { values.append(value.map(SQLiteData.text) ?? .null) }
    mutating func bool(_ value: Bool) { values.append(.integer(value ? 1 : 0)) }
    mutating func time(_ value: Timestamp) { values.append(SQLiteDatabase.time(value)) }
    mutating func optionalTime(_ value: Timestamp?) { values.append(SQLiteDatabase.time(value)) }
    mutating func smallInteger(_ value: Int16) { values.append(.integer(Int(value))) }
    mutating func integer(_ value: Int32) { values.append(.integer(Int(value))) }
    mutating func bigInteger(_ value: Int64) { values.append(.integer(Int(value))) }
    mutating func optionalBigInteger(_ value: Int64?) { values.append(value.map { .integer(Int($0)) } ?? .null) }
    mutating func textArray(_ value: [String]) { values.append(.text(RowCoding.joinTags(value))) }
    mutating func optionalDouble(_ value: Double?) { values.append(value.map(SQLiteData.float) ?? .null) }
}

/// Reads a row of `TaskColumn.selectList` by position: looking each cell up by name hashed
/// 17 names per row (9 % of the backend's CPU when listing).
struct SQLiteRowReader: TaskRowReader {
    private let cells: [SQLiteColumn]
    private var index = 0

    init(_ row: SQLiteRow) {
        cells = row.columns
    }

    mutating func text() throws -> String { try required(optionalText()) }
    mutating func optionalText() throws -> String? { try next().string }
    mutating func bool() throws -> Bool { try required(next().integer) != 0 }
    mutating func time() throws -> Timestamp { try required(optionalTime()) }
    mutating func optionalTime() throws -> Timestamp? { SQLiteDatabase.time(try next()) }
    mutating func smallInteger() throws -> Int16 { Int16(truncatingIfNeeded: try required(next().integer)) }
    mutating func integer() throws -> Int32 { Int32(truncatingIfNeeded: try required(next().integer)) }
    mutating func bigInteger() throws -> Int64 { Int64(try required(next().integer)) }
    mutating func optionalBigInteger() throws -> Int64? { try next().integer.map(Int64.init) }
    mutating func textArray() throws -> [String] { RowCoding.splitTags(try required(optionalText())) }
    mutating func double() throws -> Double { try required(next().double) }

    private mutating func next() throws -> SQLiteData {
        guard index < cells.count else { throw StoreError.invalid("malformed tasks row") }
        defer { index += 1 }
        return cells[index].data
    }

    private func required<Value>(_ value: Value?) throws -> Value {
        guard let value else { throw StoreError.invalid("malformed tasks row") }
        return value
    }
}
