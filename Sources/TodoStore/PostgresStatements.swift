import PostgresNIO
import TodoCore

// The statements on the hot paths (get one, the default first page, create, the commit
// barrier), prepared once per pooled connection. An unnamed statement is parsed and planned on
// every call: that was 26–51 % of PostgreSQL's CPU for these requests (bench/RESULTS.md).
// Every other statement stays unnamed: its text depends on the filters, and it is rarer.

/// One task of one user.
struct TaskByIDStatement: PostgresPreparedStatement {
    static let name = "todo_task_by_id"
    static let sql = TaskSQL.postgres.byID
    static let bindingDataTypes: [PostgresDataType] = [.int8, .text]

    var id: TaskID
    var userID: UserID

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(id)
        bindings.append(userID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TodoTask { try TaskRecordReader.task(row) }
}

/// The first page in the default order and size (newest first, no filter): what every client
/// opens with. Any other query goes through `TaskListSQL`; this one must return the same rows in
/// the same order. The limit is part of the text: with `LIMIT $2` PostgreSQL's generic plan
/// guesses a different row count, so it kept planning every execution anew.
struct NewestTasksStatement: PostgresPreparedStatement {
    /// The page size plus one, which tells whether there is a next page.
    static let rows = TaskQuery.defaultLimit + 1
    static let name = "todo_newest_tasks"
    /// The tasks of every project the member belongs to: a page from each (an ordered scan of
    /// `tasks_project_created`, whatever the statistics: the hidden limit of `TaskListSQL`), merged.
    static let sql = """
        SELECT t.task FROM project_members m CROSS JOIN LATERAL (
            SELECT \(TaskListSQL.record) AS task, created_at, id FROM tasks WHERE project_id = m.project_id
            ORDER BY created_at DESC, id DESC LIMIT (SELECT \(rows))
        ) t WHERE m.user_id = $1 ORDER BY t.created_at DESC, t.id DESC LIMIT \(rows)
        """
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

    func decodeRow(_ row: PostgresRow) throws -> TodoTask { try TaskRecordReader.task(row) }
}

/// What became of a new task.
enum TaskInsertOutcome: Sendable, Equatable {
    /// Stored with this id, in this project, at this position.
    case inserted(TaskID, ProjectID, Double)
    /// Its owner does not exist (any more).
    case ownerMissing
    /// Its owner has as many tasks as the quota allows, or may not write the task's project.
    case quotaReached
}

/// A new task, if its owner exists and has fewer tasks than the limit (the parameter after the
/// columns'): one row with the new id, or with NULL at the quota; no row without an owner. The
/// owner's row is locked first (FOR NO KEY UPDATE, which foreign-key checks do not wait for):
/// a concurrent insert for the same user waits there, then reads the count as the first one's
/// trigger left it, so two inserts at the quota minus one cannot both pass.
struct InsertTaskStatement: PostgresPreparedStatement {
    static let name = "todo_insert_task"
    static let sql = """
        WITH owner AS (SELECT task_count FROM users WHERE id = \(TaskSQL.postgres.ownerParameter) FOR NO KEY UPDATE),
        inserted AS (
            \(TaskSQL.postgres.insertSelect) FROM owner WHERE owner.task_count < \(TaskSQL.postgres.limitParameter)
            AND \(TaskSQL.postgres.insertAllowed) \(TaskSQL.insertReturning)
        )
        SELECT inserted.id, inserted.project_id, inserted.position FROM owner LEFT JOIN inserted ON true
        """
    /// Stated, not inferred from the first call's values: a NULL there would leave a type open.
    static let bindingDataTypes = ColumnKind.of(TaskColumn.inserted).map(\.postgresType) + [.int8]

    var task: TodoTask
    var limit: Int

    func makeBindings() throws -> PostgresBindings {
        var writer = PostgresRowWriter(capacity: TaskColumn.inserted.count + 1)
        TaskRow.write(task, TaskColumn.inserted, to: &writer)
        writer.bigInteger(Int64(limit))
        return writer.bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> TaskInsertOutcome {
        let (id, project, position) = try row.decode((Int64?, Int64?, Double?).self)
        guard let id, let project, let position else { return .quotaReached }
        return .inserted(id, project, position)
    }

    /// The outcome told by the statement's rows.
    static func outcome(_ rows: [TaskInsertOutcome]) -> TaskInsertOutcome {
        rows.first ?? .ownerMissing
    }
}

/// Several new tasks in one statement (a group of `WriteGroups`), each only if its owner exists
/// and stays within its limit; returns one row per task in their order: the id it was given,
/// whether it was inserted and whether its owner exists. The owners' rows are locked in id order
/// (so that two groups never wait for each other in a cycle) before their counts are read, as in
/// `InsertTaskStatement`; tasks of one owner are admitted in their order, while the count plus
/// their rank stays within the limit. Columns travel as arrays, one per column
/// (`PostgresColumnArrays`), then the limits.
struct InsertTasksStatement: PostgresPreparedStatement {
    static let name = "todo_insert_tasks"
    private static let kinds = ColumnKind.of(TaskColumn.inserted)
    static let sql: String = {
        let columns = TaskColumn.inserted.map(\.rawValue)
        let arrays = zip(kinds.indices, kinds).map { index, kind in "$\(index + 1)::\(kind.postgresArrayCast)" }
        let values = zip(TaskColumn.inserted, kinds).map { column, kind in
            switch column {
            case .projectID: "target_project"
            case .position: "target_position"
            default: kind.postgresValue(of: column.rawValue)
            }
        }
        let owners = "$\(TaskColumn.inserted.firstIndex(of: .userID)! + 1)::text[]", limits = "$\(kinds.count + 1)::int8[]"
        // Without a project, the owner's Inbox; without a position, after the project's last
        // task, in the group's order.
        return """
            WITH input AS (
                SELECT nextval('tasks_id_seq') AS id, *
                FROM unnest(\(arrays.joined(separator: ", ")), \(limits))
                    WITH ORDINALITY AS r (\(columns.joined(separator: ", ")), task_limit, ordinal)
            ), placed AS (
                SELECT input.*, COALESCE(NULLIF(input.project_id, 0),
                    (SELECT p.id FROM projects p WHERE p.created_by = input.user_id AND p.is_inbox)) AS target_project
                FROM input
            ), owners AS (
                SELECT id, task_count FROM users WHERE id = ANY(\(owners)) ORDER BY id FOR NO KEY UPDATE
            ), admitted AS (
                SELECT placed.*,
                    owners.task_count + row_number() OVER (PARTITION BY placed.user_id ORDER BY placed.ordinal) <= placed.task_limit
                        AS within_quota,
                    \(TaskSQL.writer(project: "placed.target_project", member: "placed.user_id"))
                        AND \(TaskSQL.assignable(project: "placed.target_project", assignee: "NULLIF(placed.assignee_id, '')")) AS allowed,
                    COALESCE(NULLIF(placed.position, 'NaN'),
                        COALESCE((SELECT max(e.position) FROM tasks e WHERE e.project_id = placed.target_project), 0)
                        + \(ManualOrder.step) * row_number() OVER (PARTITION BY placed.target_project, placed.position = 'NaN' ORDER BY placed.ordinal))
                        AS target_position
                FROM placed JOIN owners ON owners.id = placed.user_id
            ), inserted AS (
                INSERT INTO tasks (id, \(columns.joined(separator: ", ")))
                OVERRIDING SYSTEM VALUE
                SELECT id, \(values.joined(separator: ", "))
                FROM admitted WHERE within_quota AND allowed
                ORDER BY ordinal
                RETURNING id, project_id, position
            )
            SELECT input.id, inserted.id IS NOT NULL, owners.id IS NOT NULL, inserted.project_id, inserted.position
            FROM input LEFT JOIN inserted USING (id) LEFT JOIN owners ON owners.id = input.user_id
            ORDER BY input.ordinal
            """
    }()
    static let bindingDataTypes = kinds.map(\.postgresArrayType) + [.int8Array]

    private let bindings: PostgresBindings

    /// Encodes the tasks at once, before a connection is leased: a debug build took 1.2 s for
    /// 10,000 tasks, time that the database's deadline and the owner's locked row need not see.
    init(tasks: [(task: TodoTask, limit: Int)]) {
        var columns = PostgresColumnArrays()
        for (task, _) in tasks {
            columns.startRow()
            TaskRow.write(task, TaskColumn.inserted, to: &columns)
        }
        var bindings = columns.bindings(count: Self.kinds.count)
        bindings.append(tasks.map { Int64($0.limit) })
        self.bindings = bindings
    }

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> TaskInsertOutcome {
        let (id, inserted, ownerExists, project, position) = try row.decode((Int64, Bool, Bool, Int64?, Double?).self)
        if inserted, let project, let position { return .inserted(id, project, position) }
        return ownerExists ? .quotaReached : .ownerMissing
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
struct TaskRecordReader: TaskRowReader {
    static func task(_ row: PostgresRow) throws -> TodoTask {
        var cells = row.makeIterator()
        guard let cell = cells.next(), let bytes = cell.bytes, cell.format == .binary else {
            throw StoreError.invalid("a task row has no binary record")
        }
        return try bytes.withUnsafeReadableBytes { bytes in
            var reader = try TaskRecordReader(bytes)
            return try TaskRow.read(from: &reader)
        }
    }

    private let bytes: UnsafeRawBufferPointer
    private var offset = 4  // the field count

    private init(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= 4 else { throw StoreError.invalid("an empty task record") }
        self.bytes = bytes
    }

    mutating func smallInteger() throws -> Int16 { try required(integer(.int2)) }
    mutating func integer() throws -> Int32 { try required(integer(.int4)) }
    mutating func bigInteger() throws -> Int64 { try required(integer(.int8)) }
    mutating func optionalBigInteger() throws -> Int64? { try integer(.int8) }
    mutating func bool() throws -> Bool { try required(integer(.bool) as UInt8?) != 0 }
    mutating func double() throws -> Double { Double(bitPattern: try required(integer(.float8) as UInt64?)) }
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
        var array = TaskRecordReader(unchecked: try required(field(.textArray)))
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

/// A task's column values as the bindings of one statement.
struct PostgresRowWriter: TaskRowWriter {
    private(set) var bindings: PostgresBindings

    init(capacity: Int) {
        bindings = PostgresBindings(capacity: capacity)
    }

    mutating func text(_ value: String) { bindings.append(value) }
    mutating func optionalText(_ value: String?) { bindings.append(value) }
    mutating func bool(_ value: Bool) { bindings.append(value) }
    mutating func time(_ value: Timestamp) { bindings.append(value) }
    mutating func optionalTime(_ value: Timestamp?) { bindings.append(value) }
    mutating func smallInteger(_ value: Int16) { bindings.append(value) }
    mutating func integer(_ value: Int32) { bindings.append(value) }
    mutating func bigInteger(_ value: Int64) { bindings.append(value) }
    mutating func optionalBigInteger(_ value: Int64?) { bindings.append(value) }
    mutating func textArray(_ value: [String]) { bindings.append(value) }
    mutating func optionalDouble(_ value: Double?) { bindings.append(value) }
}

/// Several tasks' column values as one array per column (`InsertTasksStatement`). PostgreSQL's
/// arrays cannot hold a NULL from here, so a missing value is a sentinel that the statement's
/// `NULLIF` turns back into NULL (`ColumnKind.postgresValue`); tags go comma-joined (a tag
/// never contains a comma).
struct PostgresColumnArrays: TaskRowWriter {
    private var position = 0
    private var texts: [Int: [String]] = [:]
    private var bools: [Int: [Bool]] = [:]
    private var times: [Int: [TimeOrNone]] = [:]
    private var smallIntegers: [Int: [Int16]] = [:]
    private var integers: [Int: [Int32]] = [:]
    private var bigIntegers: [Int: [Int64]] = [:]
    private var doubles: [Int: [Double]] = [:]

    /// Called before each task's values.
    mutating func startRow() { position = 0 }

    mutating func text(_ value: String) { texts[next(), default: []].append(value) }
    mutating func optionalText(_ value: String?) { texts[next(), default: []].append(value ?? "") }
    mutating func bool(_ value: Bool) { bools[next(), default: []].append(value) }
    mutating func time(_ value: Timestamp) { times[next(), default: []].append(TimeOrNone(value)) }
    mutating func optionalTime(_ value: Timestamp?) { times[next(), default: []].append(TimeOrNone(value)) }
    mutating func smallInteger(_ value: Int16) { smallIntegers[next(), default: []].append(value) }
    mutating func integer(_ value: Int32) { integers[next(), default: []].append(value) }
    mutating func bigInteger(_ value: Int64) { bigIntegers[next(), default: []].append(value) }
    mutating func optionalBigInteger(_ value: Int64?) { bigIntegers[next(), default: []].append(value ?? 0) }
    mutating func textArray(_ value: [String]) { texts[next(), default: []].append(RowCoding.joinTags(value)) }
    mutating func optionalDouble(_ value: Double?) { doubles[next(), default: []].append(value ?? .nan) }

    private mutating func next() -> Int {
        defer { position += 1 }
        return position
    }

    /// One array binding per column, in column order.
    func bindings(count: Int) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: count)
        for index in 0..<count {
            if let column = texts[index] { bindings.append(column) }
            else if let column = bools[index] { bindings.append(column) }
            else if let column = times[index] { bindings.append(column) }
            else if let column = smallIntegers[index] { bindings.append(column) }
            else if let column = integers[index] { bindings.append(column) }
            else if let column = bigIntegers[index] { bindings.append(column) }
            else if let column = doubles[index] { bindings.append(column) }
        }
        return bindings
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

extension ColumnKind {
    /// The parameter type of a column's value.
    var postgresType: PostgresDataType {
        switch self {
        case .text, .optionalText: .text
        case .bool: .bool
        case .time, .optionalTime: .timestamptz
        case .smallInteger: .int2
        case .integer: .int4
        case .bigInteger, .optionalBigInteger: .int8
        case .textArray: .textArray
        case .optionalDouble: .float8
        }
    }

    /// The parameter type of a column of several rows (`PostgresColumnArrays`).
    var postgresArrayType: PostgresDataType {
        switch self {
        case .text, .optionalText, .textArray: .textArray
        case .bool: .boolArray
        case .time, .optionalTime: .timestamptzArray
        case .smallInteger: .int2Array
        case .integer: .int4Array
        case .bigInteger, .optionalBigInteger: .int8Array
        case .optionalDouble: .float8Array
        }
    }

    /// The cast of that array parameter in the statement's text.
    var postgresArrayCast: String {
        switch self {
        case .text, .optionalText, .textArray: "text[]"
        case .bool: "bool[]"
        case .time, .optionalTime: "timestamptz[]"
        case .smallInteger: "int2[]"
        case .integer: "int4[]"
        case .bigInteger, .optionalBigInteger: "int8[]"
        case .optionalDouble: "float8[]"
        }
    }

    /// The stored value of `column` read from such an array: sentinels back to NULL, tags split.
    func postgresValue(of column: String) -> String {
        switch self {
        case .optionalText: "NULLIF(\(column), '')"
        case .optionalTime: "NULLIF(\(column), '-infinity')"
        case .optionalBigInteger: "NULLIF(\(column), 0)"
        case .optionalDouble: "NULLIF(\(column), 'NaN')"
        case .textArray: "string_to_array(\(column), ',')"
        case .text, .bool, .time, .smallInteger, .integer, .bigInteger: column
        }
    }
}

/// A task written over its stored row if the stored version is still the expected one;
/// returns the id when it was. Unnamed: updates are rarer than the statements above.
enum UpdateTaskStatement {
    static func query(_ task: TodoTask, by actor: UserID, expectedVersion: Int) -> PostgresQuery {
        var writer = PostgresRowWriter(capacity: TaskColumn.updated.count + 3)
        TaskRow.writeUpdate(task, by: actor, expectedVersion: expectedVersion, to: &writer)
        return PostgresQuery(unsafeSQL: TaskSQL.postgres.update, binds: writer.bindings)
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
            case .double(let number): bindings.append(number)
            case .time(let time): bindings.append(time)
            }
        }
        return bindings
    }
}
