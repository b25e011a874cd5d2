import TodoCore

/// The columns of the `tasks` table, described once. Their order is the order of every select
/// list, insert and update of a task on both databases; `TaskRow.write` says, per column, which
/// value of a `TodoTask` it holds and of which type, and `TaskRow.read` reads them back in the
/// same order; the statements' texts, their bindings and (on PostgreSQL) their parameter types
/// are all made from these. A new column is a new case here, a line in `write` (the compiler
/// asks for it), a line in `read` (the round-trip test asks for it), and a migration.
enum TaskColumn: String, CaseIterable, Sendable {
    case id
    case userID = "user_id"
    case title, description, completed
    case completedAt = "completed_at"
    case priority, tags
    case dueAt = "due_at"
    case remindAt = "remind_at"
    case recurrence, version
    case createdAt = "created_at"
    case updatedAt = "updated_at"
    case seriesStart = "series_start"
    case occurrence
    case nextOccurrenceID = "next_occurrence_id"
    case projectID = "project_id"
    case parentID = "parent_id"
    case position
    case assigneeID = "assignee_id"
    /// How many sub-tasks the task has, and how many of them are completed: kept by triggers
    /// on the sub-tasks' rows (migration 17), read with the task, never written by a statement.
    case subtaskCount = "subtask_count"
    case subtasksDone = "subtasks_done"

    /// The columns the database keeps itself.
    static let derived: [TaskColumn] = [.subtaskCount, .subtasksDone]
    /// What a new row writes: every column but the id, which the database assigns, and the
    /// derived ones. A NULL `project_id` or `position` is filled in by the statement (`TaskSQL`).
    static let inserted = allCases.filter { $0 != .id && !derived.contains($0) }
    /// What an update writes: never the owner or the creation time.
    static let updated = inserted.filter { $0 != .userID && $0 != .createdAt }
    /// The select list of a task row, in `read` order.
    static let selectList = allCases.map(\.rawValue).joined(separator: ", ")
}

/// Receives a task's column values, one call per column in the statement's order. Each
/// database turns them into its own bound values (`PostgresBindings`, `[SQLiteData]`).
protocol TaskRowWriter {
    mutating func text(_ value: String)
    mutating func optionalText(_ value: String?)
    mutating func bool(_ value: Bool)
    mutating func time(_ value: Timestamp)
    mutating func optionalTime(_ value: Timestamp?)
    mutating func smallInteger(_ value: Int16)
    mutating func integer(_ value: Int32)
    mutating func bigInteger(_ value: Int64)
    mutating func optionalBigInteger(_ value: Int64?)
    mutating func textArray(_ value: [String])
    mutating func optionalDouble(_ value: Double?)
}

/// Hands out a row's column values in `TaskColumn` order; each database reads its own format.
/// A NULL where a value is required, or a value of another type, throws.
protocol TaskRowReader {
    mutating func text() throws -> String
    mutating func optionalText() throws -> String?
    mutating func bool() throws -> Bool
    mutating func time() throws -> Timestamp
    mutating func optionalTime() throws -> Timestamp?
    mutating func smallInteger() throws -> Int16
    mutating func integer() throws -> Int32
    mutating func bigInteger() throws -> Int64
    mutating func optionalBigInteger() throws -> Int64?
    mutating func textArray() throws -> [String]
    mutating func double() throws -> Double
}

enum TaskRow {
    /// Writes the values of `columns` of `task`, in their order.
    static func write<Writer: TaskRowWriter>(_ task: TodoTask, _ columns: [TaskColumn], to writer: inout Writer) {
        for column in columns {
            switch column {
            case .id: writer.bigInteger(task.id)
            case .userID: writer.text(task.userID)
            case .title: writer.text(task.fields.title)
            case .description: writer.text(task.fields.description)
            case .completed: writer.bool(task.fields.completed)
            case .completedAt: writer.optionalTime(task.completedAt)
            case .priority: writer.smallInteger(Int16(task.fields.priority.rank))
            case .tags: writer.textArray(task.fields.tags)
            case .dueAt: writer.optionalTime(task.fields.dueAt)
            case .remindAt: writer.optionalTime(task.fields.remindAt)
            case .recurrence: writer.optionalText(RowCoding.encodeRecurrence(task.fields.recurrence))
            case .version: writer.integer(Int32(task.version))
            case .createdAt: writer.time(task.createdAt)
            case .updatedAt: writer.time(task.updatedAt)
            case .seriesStart: writer.optionalTime(task.series?.start)
            case .occurrence: writer.integer(Int32(task.series?.occurrence ?? 0))
            case .nextOccurrenceID: writer.optionalBigInteger(task.nextOccurrenceID)
            case .projectID: writer.optionalBigInteger(task.projectID)
            case .parentID: writer.optionalBigInteger(task.parentID)
            case .position: writer.optionalDouble(task.position)
            case .assigneeID: writer.optionalText(task.assigneeID)
            case .subtaskCount: writer.integer(Int32(clamping: task.subtaskCount))
            case .subtasksDone: writer.integer(Int32(clamping: task.subtasksDone))
            }
        }
    }

    /// The values an update binds: the `updated` columns, then the row's id, the member who
    /// writes (an editor or owner of the task's project and of the project it goes to) and the
    /// version it must still have (`TaskSQL.update`).
    static func writeUpdate<Writer: TaskRowWriter>(_ task: TodoTask, by actor: UserID, expectedVersion: Int, to writer: inout Writer) {
        write(task, TaskColumn.updated, to: &writer)
        writer.bigInteger(task.id)
        writer.text(actor)
        writer.integer(Int32(expectedVersion))
    }

    /// Reads a task whose columns come in `TaskColumn.allCases` order. Straight-line reads, not
    /// a loop over the columns with a switch: this runs for every row of every list, and with
    /// the loop (filling in a placeholder task) list50 ran at 0.89-0.93 of the previous
    /// binary's rate in A/B pairs, with this at 1.06 (bench/RESULTS.md). The round-trip test
    /// (`TaskRowTests`) holds this order to `write`'s.
    static func read<Reader: TaskRowReader>(from reader: inout Reader) throws -> TodoTask {
        let id = try reader.bigInteger(), userID = try reader.text()
        let title = try reader.text(), description = try reader.text()
        let completed = try reader.bool(), completedAt = try reader.optionalTime()
        let priority = try RowCoding.priority(rank: Int(try reader.smallInteger())), tags = try reader.textArray()
        let dueAt = try reader.optionalTime(), remindAt = try reader.optionalTime()
        let recurrence = try RowCoding.decodeRecurrence(try reader.optionalText()), version = Int(try reader.integer())
        let createdAt = try reader.time(), updatedAt = try reader.time()
        let seriesStart = try reader.optionalTime(), occurrence = Int(try reader.integer())
        let nextOccurrenceID = try reader.optionalBigInteger()
        let projectID = try reader.optionalBigInteger(), parentID = try reader.optionalBigInteger()
        let position = try reader.double(), assigneeID = try reader.optionalText()
        let subtaskCount = Int(try reader.integer()), subtasksDone = Int(try reader.integer())
        let fields = TaskFields(
            title: title, description: description, completed: completed, priority: priority, tags: tags,
            dueAt: dueAt, remindAt: remindAt, recurrence: recurrence)
        return TodoTask(
            id: id, userID: userID, fields: fields, completedAt: completedAt, version: version, createdAt: createdAt,
            updatedAt: updatedAt, series: seriesStart.map { Series(start: $0, occurrence: occurrence) },
            nextOccurrenceID: nextOccurrenceID, projectID: projectID, parentID: parentID, position: position, assigneeID: assigneeID,
            subtaskCount: subtaskCount, subtasksDone: subtasksDone)
    }
}

/// The kind of value each column holds, as `TaskRow.write` gives it: what a database needs to
/// know about a column beyond its name (PostgreSQL's parameter types, say).
enum ColumnKind: Sendable, Equatable {
    case text, optionalText, bool, time, optionalTime, smallInteger, integer, bigInteger, optionalBigInteger, textArray, optionalDouble

    /// The kinds of `columns`, in their order.
    static func of(_ columns: [TaskColumn]) -> [ColumnKind] {
        var recorder = Recorder()
        let sample = TodoTask(id: 0, userID: "", fields: TaskFields(title: ""), completedAt: nil, version: 0,
                              createdAt: Timestamp(millisecondsSinceEpoch: 0), updatedAt: Timestamp(millisecondsSinceEpoch: 0))
        TaskRow.write(sample, columns, to: &recorder)
        return recorder.kinds
    }

    private struct Recorder: TaskRowWriter {
        var kinds: [ColumnKind] = []
        mutating func text(_ value: String) { kinds.append(.text) }
        mutating func optionalText(_ value: String?) { kinds.append(.optionalText) }
        mutating func bool(_ value: Bool) { kinds.append(.bool) }
        mutating func time(_ value: Timestamp) { kinds.append(.time) }
        mutating func optionalTime(_ value: Timestamp?) { kinds.append(.optionalTime) }
        mutating func smallInteger(_ value: Int16) { kinds.append(.smallInteger) }
        mutating func integer(_ value: Int32) { kinds.append(.integer) }
        mutating func bigInteger(_ value: Int64) { kinds.append(.bigInteger) }
        mutating func optionalBigInteger(_ value: Int64?) { kinds.append(.optionalBigInteger) }
        mutating func textArray(_ value: [String]) { kinds.append(.textArray) }
        mutating func optionalDouble(_ value: Double?) { kinds.append(.optionalDouble) }
    }
}
