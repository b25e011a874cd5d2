import PostgresNIO
import TodoCore

// The statements on the hot paths (get one, the default first page, create, the commit
// barrier), prepared once per pooled connection. An unnamed statement is parsed and planned on
// every call: that was 26–51 % of PostgreSQL's CPU for these requests (bench/RESULTS.md).
// Every other statement stays unnamed: its text depends on the filters, and it is rarer.

/// One task of one user.
struct TaskByIDStatement: PostgresPreparedStatement {
    static let name = "todo_task_by_id"
    static let sql = "SELECT \(TaskListSQL.record) FROM tasks WHERE id = $1 AND user_id = $2"
    static let bindingDataTypes: [PostgresDataType] = [.int8, .text]

    var id: TaskID
    var userID: UserID

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(id)
        bindings.append(userID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TodoTask { try TaskRowDecoder.task(row) }
}

/// The first page in the default order and size (newest first, no filter): what every client
/// opens with. Any other query goes through `TaskListSQL`; this one must return the same rows in
/// the same order. The limit is part of the text: with `LIMIT $2` PostgreSQL's generic plan
/// guesses a different row count, so it kept planning every execution anew.
struct NewestTasksStatement: PostgresPreparedStatement {
    /// The page size plus one, which tells whether there is a next page.
    static let rows = TaskQuery.defaultLimit + 1
    static let name = "todo_newest_tasks"
    static let sql = "SELECT \(TaskListSQL.record) FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT \(rows)"
    static let bindingDataTypes: [PostgresDataType] = [.text]

    var userID: UserID

    /// The statement for `query`, when it is the default query (every field as `TaskQuery()`
    /// has it, so a filter added to `TaskQuery` later cannot slip past this statement).
    init?(userID: UserID, query: TaskQuery) {
        guard query == TaskQuery() else { return nil }
        self.userID = userID
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(userID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TodoTask { try TaskRowDecoder.task(row) }
}

/// A new task, if its user still exists; returns the new id.
struct InsertTaskStatement: PostgresPreparedStatement {
    static let name = "todo_insert_task"
    static let sql = """
        INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at,
                           recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
        WHERE EXISTS (SELECT 1 FROM users WHERE id = $1)
        RETURNING id
        """
    /// Stated, not inferred from the first call's values: a NULL there would leave a type open.
    static let bindingDataTypes: [PostgresDataType] = [
        .text, .text, .text, .bool, .timestamptz, .int2, .textArray, .timestamptz, .timestamptz,
        .text, .int4, .timestamptz, .timestamptz, .timestamptz, .int4, .int8,
    ]

    var task: TodoTask

    func makeBindings() throws -> PostgresBindings { TaskRowEncoder.insertBindings(task) }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

/// Several new tasks in one statement (a group of `WriteGroups`), each only if its user still
/// exists; returns one row per task in their order: the id it was given and whether it was
/// inserted. Columns travel as arrays, one per column; PostgreSQL's arrays cannot hold a NULL
/// from here, so a missing value is a sentinel that `NULLIF` turns back into NULL: -infinity
/// for a time, '' for the recurrence, 0 for an id. Tags go comma-joined (tags never contain a comma).
struct InsertTasksStatement: PostgresPreparedStatement {
    static let name = "todo_insert_tasks"
    static let sql = """
        WITH input AS (
            SELECT nextval('tasks_id_seq') AS id, *
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::timestamptz[], $6::int2[], $7::text[],
                        $8::timestamptz[], $9::timestamptz[], $10::text[], $11::int4[], $12::timestamptz[],
                        $13::timestamptz[], $14::timestamptz[], $15::int4[], $16::int8[])
                WITH ORDINALITY AS r (user_id, title, description, completed, completed_at, priority, tags, due_at,
                                      remind_at, recurrence, version, created_at, updated_at, series_start, occurrence,
                                      next_occurrence_id, position)
        ), inserted AS (
            INSERT INTO tasks (id, user_id, title, description, completed, completed_at, priority, tags, due_at,
                               remind_at, recurrence, version, created_at, updated_at, series_start, occurrence,
                               next_occurrence_id)
            OVERRIDING SYSTEM VALUE
            SELECT id, user_id, title, description, completed, NULLIF(completed_at, '-infinity'), priority,
                   string_to_array(tags, ','), NULLIF(due_at, '-infinity'), NULLIF(remind_at, '-infinity'),
                   NULLIF(recurrence, ''), version, created_at, updated_at, NULLIF(series_start, '-infinity'),
                   occurrence, NULLIF(next_occurrence_id, 0)
            FROM input WHERE EXISTS (SELECT 1 FROM users WHERE users.id = input.user_id)
            ORDER BY position
            RETURNING id
        )
        SELECT input.id, inserted.id IS NOT NULL FROM input LEFT JOIN inserted USING (id) ORDER BY input.position
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .textArray, .textArray, .textArray, .boolArray, .timestamptzArray, .int2Array, .textArray, .timestamptzArray,
        .timestamptzArray, .textArray, .int4Array, .timestamptzArray, .timestamptzArray, .timestamptzArray, .int4Array,
        .int8Array,
    ]

    var tasks: [TodoTask]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 16)
        func column<Value: PostgresArrayEncodable & PostgresNonThrowingEncodable>(_ value: (TodoTask) -> Value) {
            bindings.append(tasks.map(value))
        }
        column(\.userID)
        column(\.fields.title)
        column(\.fields.description)
        column(\.fields.completed)
        column { TimeOrNone($0.completedAt) }
        column { Int16($0.fields.priority.rank) }
        column { RowCoding.joinTags($0.fields.tags) }
        column { TimeOrNone($0.fields.dueAt) }
        column { TimeOrNone($0.fields.remindAt) }
        column { RowCoding.encodeRecurrence($0.fields.recurrence) ?? "" }
        column { Int32($0.version) }
        column(\.createdAt)
        column(\.updatedAt)
        column { TimeOrNone($0.series?.start) }
        column { Int32($0.series?.occurrence ?? 0) }
        column { $0.nextOccurrenceID ?? 0 }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64? {
        let (id, inserted) = try row.decode((Int64, Bool).self)
        return inserted ? id : nil
    }

    /// A time, or -infinity for none.
    private struct TimeOrNone: PostgresArrayEncodable, PostgresNonThrowingEncodable {
        static var psqlType: PostgresDataType { .timestamptz }
        static var psqlArrayType: PostgresDataType { .timestamptzArray }
        static var psqlFormat: PostgresFormat { .binary }

        var time: Timestamp?

        init(_ time: Timestamp?) { self.time = time }

        func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
            if let time {
                time.encode(into: &buffer, context: context)
            } else {
                buffer.writeInteger(Int64.min)  // PostgreSQL's -infinity
            }
        }
    }
}

/// A no-op that runs only after the previous statement on the connection has committed
/// (see `PostgresRepository.write`); prepared, it costs PostgreSQL no parse and no plan.
struct CommitBarrierStatement: PostgresPreparedStatement {
    static let name = "todo_commit_barrier"
    static let sql = "SELECT 1"

    func makeBindings() throws -> PostgresBindings { PostgresBindings() }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Reads a task from the first cell of a row: the `TaskListSQL.record` of its columns in
/// PostgreSQL's binary record format (a field count, then per field its type, length and bytes).
/// Reading that buffer directly costs a fraction of PostgresNIO's per-cell iterator.
enum TaskRowDecoder {
    static func task(_ row: PostgresRow) throws -> TodoTask {
        var cells = row.makeIterator()
        guard let cell = cells.next(), let bytes = cell.bytes, cell.format == .binary else {
            throw StoreUnavailable("a task row has no binary record")
        }
        var fields = try RecordFields(bytes)
        let id = try fields.next(Int64.self), userID = try fields.next(String.self)
        let title = try fields.next(String.self), description = try fields.next(String.self)
        let completed = try fields.next(Bool.self), completedAt = try fields.nextOptional(Timestamp.self)
        let rank = try fields.next(Int16.self), tags = try fields.nextTextArray()
        let dueAt = try fields.nextOptional(Timestamp.self), remindAt = try fields.nextOptional(Timestamp.self)
        let recurrence = try fields.nextOptional(String.self), version = try fields.next(Int32.self)
        let created = try fields.next(Timestamp.self), updated = try fields.next(Timestamp.self)
        let seriesStart = try fields.nextOptional(Timestamp.self), occurrence = try fields.next(Int32.self)
        let nextID = try fields.nextOptional(Int64.self)
        let taskFields = TaskFields(
            title: title, description: description, completed: completed, priority: try RowCoding.priority(rank: Int(rank)),
            tags: tags, dueAt: dueAt, remindAt: remindAt, recurrence: try RowCoding.decodeRecurrence(recurrence))
        return TodoTask(id: id, userID: userID, fields: taskFields, completedAt: completedAt, version: Int(version),
                        createdAt: created, updatedAt: updated,
                        series: seriesStart.map { Series(start: $0, occurrence: Int(occurrence)) }, nextOccurrenceID: nextID)
    }

    private struct RecordFields {
        private var buffer: ByteBuffer

        init(_ buffer: ByteBuffer) throws {
            self.buffer = buffer
            guard self.buffer.readInteger(as: Int32.self) != nil else { throw StoreUnavailable("an empty task record") }
        }

        mutating func next<Value: PostgresDecodable>(_: Value.Type) throws -> Value {
            guard let value = try nextOptional(Value.self) else { throw StoreUnavailable("a NULL in a task record") }
            return value
        }

        /// The next field, nil for NULL.
        mutating func nextOptional<Value: PostgresDecodable>(_: Value.Type) throws -> Value? {
            guard var (type, field) = try nextField() else { return nil }
            return try Value(from: &field, type: type, format: .binary, context: .default)
        }

        /// A one-dimensional `text[]` without NULLs, read directly: PostgresNIO's generic array
        /// decoder was a quarter of reading a task.
        mutating func nextTextArray() throws -> [String] {
            guard var (type, field) = try nextField(), type == .textArray,
                  let dimensions = field.readInteger(as: Int32.self), field.readInteger(as: Int32.self) == 0,
                  field.readInteger(as: UInt32.self) != nil
            else { throw StoreUnavailable("a task record has no text array where expected") }
            guard dimensions > 0 else { return [] }
            guard dimensions == 1, let count = field.readInteger(as: Int32.self), count >= 0, field.readInteger(as: Int32.self) != nil else {
                throw StoreUnavailable("a task record has a malformed text array")
            }
            var strings: [String] = []
            strings.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let length = field.readInteger(as: Int32.self), length >= 0, let string = field.readString(length: Int(length)) else {
                    throw StoreUnavailable("a task record has a malformed text array")
                }
                strings.append(string)
            }
            return strings
        }

        /// The next field's type and bytes, nil for NULL.
        private mutating func nextField() throws -> (PostgresDataType, ByteBuffer)? {
            guard let type = buffer.readInteger(as: UInt32.self), let length = buffer.readInteger(as: Int32.self) else {
                throw StoreUnavailable("a task record has too few fields")
            }
            guard length >= 0 else { return nil }
            guard let field = buffer.readSlice(length: Int(length)) else { throw StoreUnavailable("a task record is cut short") }
            return (PostgresDataType(type), field)
        }
    }
}

/// The bound values of the task statements, in their column order.
enum TaskRowEncoder {
    static func insertBindings(_ task: TodoTask) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 16)
        bindings.append(task.userID)
        appendFields(task.fields, completedAt: task.completedAt, to: &bindings)
        bindings.append(Int32(task.version))
        bindings.append(task.createdAt)
        bindings.append(task.updatedAt)
        bindings.append(task.series?.start)
        bindings.append(Int32(task.series?.occurrence ?? 0))
        bindings.append(task.nextOccurrenceID)
        return bindings
    }

    static func updateBindings(_ task: TodoTask, expectedVersion: Int) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 17)
        appendFields(task.fields, completedAt: task.completedAt, to: &bindings)
        bindings.append(Int32(task.version))
        bindings.append(task.updatedAt)
        bindings.append(task.series?.start)
        bindings.append(Int32(task.series?.occurrence ?? 0))
        bindings.append(task.nextOccurrenceID)
        bindings.append(task.id)
        bindings.append(task.userID)
        bindings.append(Int32(expectedVersion))
        return bindings
    }

    private static func appendFields(_ fields: TaskFields, completedAt: Timestamp?, to bindings: inout PostgresBindings) {
        bindings.append(fields.title)
        bindings.append(fields.description)
        bindings.append(fields.completed)
        bindings.append(completedAt)
        bindings.append(Int16(fields.priority.rank))
        bindings.append(fields.tags)
        bindings.append(fields.dueAt)
        bindings.append(fields.remindAt)
        bindings.append(RowCoding.encodeRecurrence(fields.recurrence))
    }
}
