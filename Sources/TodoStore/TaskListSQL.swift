import TodoCore

/// A value bound to a statement parameter; each database maps it to its own type.
enum SQLBind: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case time(Timestamp)
}

/// What differs between the two SQL dialects for the list query.
struct SQLDialect: Sendable {
    var placeholder: @Sendable (Int) -> String
    /// The bound value for a search term, and the condition that title or description holds it.
    var searchTerm: @Sendable (String) -> String
    var contains: @Sendable (_ placeholder: String) -> String
    /// The case-insensitive sort key of the title.
    var titleKey: String
    /// A condition that the task's tags contain the bound tag.
    var hasTag: @Sendable (_ placeholder: String) -> String
    /// What a task row selects: `TaskColumn.selectList`, or on PostgreSQL those columns as one record.
    var task: String
    var trueLiteral: String
    var falseLiteral: String
    /// A condition that two values are equal or both NULL.
    var same: @Sendable (_ left: String, _ right: String) -> String

    static let postgres = SQLDialect(
        placeholder: { "$\($0)" },
        searchTerm: { "%" + TaskListSQL.escapeLike($0) + "%" },
        contains: { "(title ILIKE \($0) ESCAPE '\\' OR description ILIKE \($0) ESCAPE '\\')" },
        titleKey: "lower(title)",
        hasTag: { "\($0) = ANY(tags)" },
        task: TaskListSQL.record,
        trueLiteral: "true",
        falseLiteral: "false",
        same: { "\($0) IS NOT DISTINCT FROM \($1)" })

    /// SQLite's own `lower()` and `LIKE` fold ASCII only; `todo_fold` (registered on every
    /// connection) folds all of Unicode, so "ÄPFEL" finds "äpfel".
    static let sqlite = SQLDialect(
        placeholder: { "?\($0)" },
        searchTerm: { $0.lowercased() },
        contains: { "(instr(todo_fold(title), \($0)) > 0 OR instr(todo_fold(description), \($0)) > 0)" },
        titleKey: "todo_fold(title)",
        hasTag: { "instr(',' || tags || ',', ',' || \($0) || ',') > 0" },
        task: TaskColumn.selectList,
        trueLiteral: "1",
        falseLiteral: "0",
        same: { "\($0) IS \($1)" })
}

/// Builds the list query: filters, keyset pagination and order. Values are always bound,
/// never spliced into the text; only fixed column names and operators are.
struct TaskListSQL {
    /// The task's columns as one cell (PostgreSQL's binary record, read by `TaskRecordReader`):
    /// decoding 17 cells through PostgresNIO's row iterator was a fifth of the backend's CPU in a list.
    static let record = "ROW(\(TaskColumn.selectList))"

    var sql: String
    var binds: [SQLBind]

    init(userID: UserID, query: TaskQuery, dialect: SQLDialect) {
        var binds: [SQLBind] = []
        func bind(_ value: SQLBind) -> String {
            binds.append(value)
            return dialect.placeholder(binds.count)
        }
        var conditions = ["user_id = \(bind(.text(userID)))"]
        switch query.status {
        case .all: break
        case .pending: conditions.append("completed = \(dialect.falseLiteral)")
        case .completed: conditions.append("completed = \(dialect.trueLiteral)")
        }
        if !query.priorities.isEmpty {
            let list = query.priorities.map { bind(.integer(Int64($0.rank))) }.joined(separator: ", ")
            conditions.append("priority IN (\(list))")
        }
        for tag in query.tags {
            conditions.append(dialect.hasTag(bind(.text(tag))))
        }
        if let dueAfter = query.dueAfter { conditions.append("due_at >= \(bind(.time(dueAfter)))") }
        if let dueBefore = query.dueBefore { conditions.append("due_at < \(bind(.time(dueBefore)))") }
        if let search = query.search {
            conditions.append(dialect.contains(bind(.text(dialect.searchTerm(search)))))
        }
        let key = Self.sortExpression(query.sort.field, dialect)
        let direction = query.sort.descending ? "DESC" : "ASC"
        let after = query.sort.descending ? "<" : ">"
        if let cursor = query.cursor {
            switch cursor.key {
            case .none:
                conditions.append("(\(key) IS NULL AND id \(after) \(bind(.integer(cursor.id))))")
            case .integer(let value):
                let bound = query.sort.field == .due || query.sort.field == .created || query.sort.field == .updated
                    ? bind(.time(Timestamp(millisecondsSinceEpoch: value))) : bind(.integer(value))
                conditions.append(Self.keysetCondition(key, bound, after, bind(.integer(cursor.id)), nullable: query.sort.field == .due))
            case .text(let value):
                conditions.append(Self.keysetCondition(key, bind(.text(value)), after, bind(.integer(cursor.id)), nullable: false))
            }
        }
        let nulls = query.sort.field == .due ? " NULLS LAST" : ""
        let sortColumn = query.sort.field == .title ? ", \(key) AS sort_key" : ""
        let limit = bind(.integer(Int64(query.limit + 1)))
        self.sql = """
            SELECT \(dialect.task)\(sortColumn) FROM tasks WHERE \(conditions.joined(separator: " AND ")) \
            ORDER BY \(key) \(direction)\(nulls), id \(direction) LIMIT \(limit)
            """
        self.binds = binds
    }

    static func sortExpression(_ field: TaskQuery.SortField, _ dialect: SQLDialect) -> String {
        switch field {
        case .created: "created_at"
        case .updated: "updated_at"
        case .due: "due_at"
        case .priority: "priority"
        case .title: dialect.titleKey
        }
    }

    /// Rows after (key, id) in the sort order; tasks without a key come last.
    static func keysetCondition(_ key: String, _ value: String, _ after: String, _ id: String, nullable: Bool) -> String {
        let base = "(\(key) \(after) \(value) OR (\(key) = \(value) AND id \(after) \(id)))"
        return nullable ? "(\(base) OR \(key) IS NULL)" : base
    }

    /// Makes `%`, `_` and `\` in a search term match literally.
    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// The page from rows fetched with `LIMIT limit + 1`: the extra row only says there is more.
    static func page(rows: [(task: TodoTask, titleKey: String?)], query: TaskQuery) -> TaskPage {
        let items = rows.prefix(query.limit).map(\.task)
        guard rows.count > query.limit, let last = rows.prefix(query.limit).last else {
            return TaskPage(items: Array(items), nextCursor: nil)
        }
        let key: TaskCursor.Key
        switch query.sort.field {
        case .created: key = .integer(last.task.createdAt.millisecondsSinceEpoch)
        case .updated: key = .integer(last.task.updatedAt.millisecondsSinceEpoch)
        case .priority: key = .integer(Int64(last.task.fields.priority.rank))
        case .due: key = last.task.fields.dueAt.map { .integer($0.millisecondsSinceEpoch) } ?? .none
        case .title: key = .text(last.titleKey ?? last.task.fields.title.lowercased())
        }
        return TaskPage(items: Array(items), nextCursor: TaskCursor(sort: query.sort, key: key, id: last.task.id))
    }
}

/// The texts of the single-task statements in one dialect, made from `TaskColumn`.
struct TaskSQL: Sendable {
    /// `INSERT INTO tasks (...) SELECT <the inserted columns' parameters>`: each database adds
    /// where the row comes from (its owner's row, which must exist and be under the quota) and
    /// what it returns.
    let insertSelect: String
    /// The parameter of the new task's owner, and the one after the columns' that holds the quota.
    let ownerParameter: String, limitParameter: String
    /// The `updated` columns of a task, only at the expected version; returns the id when it
    /// was. A changed reminder time fires again (`reminded_at` cleared).
    let update: String
    /// One task of one user.
    let byID: String

    init(_ dialect: SQLDialect) {
        let inserted = TaskColumn.inserted, updated = TaskColumn.updated
        func placeholder(_ column: TaskColumn, in columns: [TaskColumn]) -> String {
            dialect.placeholder(columns.firstIndex(of: column)! + 1)
        }
        insertSelect = """
            INSERT INTO tasks (\(inserted.map(\.rawValue).joined(separator: ", ")))
            SELECT \((1...inserted.count).map(dialect.placeholder).joined(separator: ", "))
            """
        ownerParameter = placeholder(.userID, in: inserted)
        limitParameter = dialect.placeholder(inserted.count + 1)
        let assignments = updated.map { "\($0.rawValue) = \(placeholder($0, in: updated))" }
        let reminder = dialect.same(TaskColumn.remindAt.rawValue, placeholder(.remindAt, in: updated))
        update = """
            UPDATE tasks SET \(assignments.joined(separator: ", ")),
                reminded_at = CASE WHEN \(reminder) THEN reminded_at END
            WHERE id = \(dialect.placeholder(updated.count + 1)) AND user_id = \(dialect.placeholder(updated.count + 2)) \
            AND version = \(dialect.placeholder(updated.count + 3)) RETURNING id
            """
        byID = "SELECT \(dialect.task) FROM tasks WHERE id = \(dialect.placeholder(1)) AND user_id = \(dialect.placeholder(2))"
    }

    static let postgres = TaskSQL(.postgres)
    static let sqlite = TaskSQL(.sqlite)
}
