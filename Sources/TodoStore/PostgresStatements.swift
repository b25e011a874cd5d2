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
/// (see `PostgresDatabase.write`); prepared, it costs PostgreSQL no parse and no plan.
struct CommitBarrierStatement: PostgresPreparedStatement {
    static let name = "todo_commit_barrier"
    static let sql = "SELECT 1"

    func makeBindings() throws -> PostgresBindings { PostgresBindings() }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Reads a task from the first cell of a row: the `TaskListSQL.record` of its columns in
/// PostgreSQL's binary record format (a field count, then per field its type, length and bytes).
/// Reading those bytes in place costs a fraction of PostgresNIO's per-cell iterator, and of
/// decoding each field from a `ByteBuffer` slice of its own.
enum TaskRowDecoder {
    static func task(_ row: PostgresRow) throws -> TodoTask {
        var cells = row.makeIterator()
        guard let cell = cells.next(), let bytes = cell.bytes, cell.format == .binary else {
            throw StoreError.invalid("a task row has no binary record")
        }
        return try bytes.withUnsafeReadableBytes { bytes in
            var fields = try RecordFields(bytes)
            let id = try fields.int64(), userID = try fields.text()
            let title = try fields.text(), description = try fields.text()
            let completed = try fields.bool(), completedAt = try fields.optionalTime()
            let rank = try fields.int16(), tags = try fields.textArray()
            let dueAt = try fields.optionalTime(), remindAt = try fields.optionalTime()
            let recurrence = try fields.optionalText(), version = try fields.int32()
            let created = try fields.time(), updated = try fields.time()
            let seriesStart = try fields.optionalTime(), occurrence = try fields.int32()
            let nextID = try fields.optionalInt64()
            let taskFields = TaskFields(
                title: title, description: description, completed: completed, priority: try RowCoding.priority(rank: Int(rank)),
                tags: tags, dueAt: dueAt, remindAt: remindAt, recurrence: try RowCoding.decodeRecurrence(recurrence))
            return TodoTask(id: id, userID: userID, fields: taskFields, completedAt: completedAt, version: Int(version),
                            createdAt: created, updatedAt: updated,
                            series: seriesStart.map { Series(start: $0, occurrence: Int(occurrence)) }, nextOccurrenceID: nextID)
        }
    }

    /// The fields of a record, in order; each is checked for its type and length.
    private struct RecordFields {
        private let bytes: UnsafeRawBufferPointer
        private var offset = 4  // the field count

        init(_ bytes: UnsafeRawBufferPointer) throws {
            guard bytes.count >= 4 else { throw StoreError.invalid("an empty task record") }
            self.bytes = bytes
        }

        mutating func int16() throws -> Int16 { try required(integer(.int2)) }
        mutating func int32() throws -> Int32 { try required(integer(.int4)) }
        mutating func int64() throws -> Int64 { try required(integer(.int8)) }
        mutating func optionalInt64() throws -> Int64? { try integer(.int8) }
        mutating func bool() throws -> Bool { try required(integer(.bool) as UInt8?) != 0 }
        mutating func time() throws -> Timestamp { try required(optionalTime()) }
        mutating func text() throws -> String { try required(optionalText()) }

        mutating func optionalTime() throws -> Timestamp? {
            try integer(.timestamptz).map(Timestamp.init(postgresMicroseconds:))
        }

        mutating func optionalText() throws -> String? {
            try field(.text).map { String(decoding: $0, as: UTF8.self) }
        }

        /// A one-dimensional `text[]` without NULLs: dimensions, a has-NULLs flag, the element
        /// type, then per dimension its size and lower bound, then each element's length and bytes.
        mutating func textArray() throws -> [String] {
            var array = RecordFields(unchecked: try required(field(.textArray)))
            let dimensions = try array.read(Int32.self), hasNulls = try array.read(Int32.self)
            _ = try array.read(UInt32.self)
            guard hasNulls == 0, dimensions <= 1 else { throw StoreError.invalid("a task record has a malformed text array") }
            guard dimensions == 1 else { return [] }
            let count = try array.read(Int32.self)
            _ = try array.read(Int32.self)
            guard count >= 0 else { throw StoreError.invalid("a task record has a malformed text array") }
            var strings: [String] = []
            strings.reserveCapacity(Int(count))
            for _ in 0..<count {
                strings.append(String(decoding: try array.bytes(count: Int(try array.read(Int32.self))), as: UTF8.self))
            }
            return strings
        }

        private init(unchecked bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
            offset = 0
        }

        private func required<Value>(_ value: Value?) throws -> Value {
            guard let value else { throw StoreError.invalid("a NULL in a task record") }
            return value
        }

        /// A fixed-size field as a big-endian integer, nil for NULL.
        private mutating func integer<Value: FixedWidthInteger>(_ type: PostgresDataType) throws -> Value? {
            guard let field = try field(type) else { return nil }
            guard field.count == MemoryLayout<Value>.size else { throw StoreError.invalid("a task record has a \(type) of \(field.count) bytes") }
            return Value(bigEndian: field.loadUnaligned(as: Value.self))
        }

        /// The next field's bytes, nil for NULL.
        private mutating func field(_ type: PostgresDataType) throws -> UnsafeRawBufferPointer? {
            let fieldType = PostgresDataType(try read(UInt32.self)), length = try read(Int32.self)
            guard fieldType == type else { throw StoreError.invalid("a task record has a \(fieldType) where a \(type) belongs") }
            return length < 0 ? nil : try bytes(count: Int(length))
        }

        private mutating func read<Value: FixedWidthInteger>(_: Value.Type) throws -> Value {
            Value(bigEndian: try bytes(count: MemoryLayout<Value>.size).loadUnaligned(as: Value.self))
        }

        private mutating func bytes(count: Int) throws -> UnsafeRawBufferPointer {
            guard count >= 0, count <= bytes.count - offset else { throw StoreError.invalid("a task record is cut short") }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
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

/// A task written over its stored row if the stored version is still the expected one;
/// returns the id when it was. Unnamed: updates are rarer than the statements above.
enum UpdateTaskStatement {
    static let sql = """
        UPDATE tasks SET title = $1, description = $2, completed = $3, completed_at = $4, priority = $5, tags = $6,
            due_at = $7, remind_at = $8, recurrence = $9, version = $10, updated_at = $11, series_start = $12,
            occurrence = $13, next_occurrence_id = $14,
            reminded_at = CASE WHEN remind_at IS NOT DISTINCT FROM $8 THEN reminded_at END
        WHERE id = $15 AND user_id = $16 AND version = $17 RETURNING id
        """

    static func query(_ task: TodoTask, expectedVersion: Int) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: TaskRowEncoder.updateBindings(task, expectedVersion: expectedVersion))
    }
}

extension TaskListSQL {
    /// The list query's values as PostgreSQL bindings.
    var bindings: PostgresBindings {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .text(let text): bindings.append(text)
            case .integer(let number): bindings.append(number)
            case .time(let time): bindings.append(time)
            }
        }
        return bindings
    }
}
