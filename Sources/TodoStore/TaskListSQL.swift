import TodoCore

/// A value bound to a statement parameter; each database maps it to its own type.
enum SQLBind: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case double(Double)
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
    /// Whether lists join the caller's memberships laterally (`TaskListSQL`).
    var lateralMembership: Bool

    static let postgres = SQLDialect(
        placeholder: { "$\($0)" },
        searchTerm: { "%" + TaskListSQL.escapeLike($0) + "%" },
        contains: { "(title ILIKE \($0) ESCAPE '\\' OR description ILIKE \($0) ESCAPE '\\')" },
        titleKey: "lower(title)",
        hasTag: { "\($0) = ANY(tags)" },
        task: TaskListSQL.record,
        trueLiteral: "true",
        falseLiteral: "false",
        same: { "\($0) IS NOT DISTINCT FROM \($1)" },
        lateralMembership: true)

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
        same: { "\($0) IS \($1)" },
        lateralMembership: false)
}

/// Builds the list query: filters, keyset pagination and order. Values are always bound,
/// never spliced into the text; only fixed column names and operators are.
///
/// A caller sees the tasks of the projects they are a member of (any role), decided in the
/// statement: on PostgreSQL a lateral join runs the page's query once per membership (each an
/// ordered scan of that project's index, at most a page long) and merges those short lists; on
/// SQLite the tasks of the member's projects are filtered by an `IN` list of them.
///
/// A project's part is limited by `(SELECT <limit>)`, whose value no plan can see: PostgreSQL then
/// plans it to stop early (as for a tenth of the rows) and picks the ordered index scan. With a
/// visible limit it compares that limit with its guess of a project's size, which is the average
/// project's, however fresh the statistics: for a project larger than the guess (a household's
/// shared list among small Inboxes, or any project on a table grown since a cached plan) it chose
/// to read and sort the whole project on every page (`bench/RESULTS.md`, "Plans on a grown table").
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
        let member = bind(.text(userID))
        var membership = "m.user_id = \(member)"
        if let project = query.project { membership += " AND m.project_id = \(bind(.integer(project)))" }
        var conditions: [String] = []
        switch query.status {
        case .all: break
        case .pending: conditions.append("completed = \(dialect.falseLiteral)")
        case .completed: conditions.append("completed = \(dialect.trueLiteral)")
        }
        switch query.parent {
        case nil: break
        case .topLevel?: conditions.append("parent_id IS NULL")
        case .task(let parent)?: conditions.append("parent_id = \(bind(.integer(parent)))")
        }
        if query.assignedToCaller { conditions.append("assignee_id = \(member)") }
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
            case .number(let value):
                conditions.append(Self.keysetCondition(key, bind(.double(value)), after, bind(.integer(cursor.id)), nullable: false))
            case .text(let value):
                conditions.append(Self.keysetCondition(key, bind(.text(value)), after, bind(.integer(cursor.id)), nullable: false))
            }
        }
        let nulls = query.sort.field == .due ? " NULLS LAST" : ""
        let limit = bind(.integer(Int64(query.limit + 1)))
        let filter = conditions.map { " AND \($0)" }.joined()
        if dialect.lateralMembership {
            let sortColumn = query.sort.field == .title ? ", t.sort_key" : ""
            self.sql = """
                SELECT t.task\(sortColumn) FROM project_members m CROSS JOIN LATERAL (
                    SELECT \(dialect.task) AS task, \(key) AS sort_key, id FROM tasks WHERE project_id = m.project_id\(filter)
                    ORDER BY \(key) \(direction)\(nulls), id \(direction) LIMIT (SELECT \(limit))
                ) t WHERE \(membership) ORDER BY t.sort_key \(direction)\(nulls), t.id \(direction) LIMIT \(limit)
                """
        } else {
            let sortColumn = query.sort.field == .title ? ", \(key) AS sort_key" : ""
            self.sql = """
                SELECT \(dialect.task)\(sortColumn) FROM tasks \
                WHERE project_id IN (SELECT m.project_id FROM project_members m WHERE \(membership))\(filter) \
                ORDER BY \(key) \(direction)\(nulls), id \(direction) LIMIT \(limit)
                """
        }
        self.binds = binds
    }

    static func sortExpression(_ field: TaskQuery.SortField, _ dialect: SQLDialect) -> String {
        switch field {
        case .created: "created_at"
        case .updated: "updated_at"
        case .due: "due_at"
        case .priority: "priority"
        case .title: dialect.titleKey
        case .position: "position"
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
        case .position: key = .number(last.task.position ?? 0)
        }
        return TaskPage(items: Array(items), nextCursor: TaskCursor(sort: query.sort, key: key, id: last.task.id))
    }
}

/// The texts of the single-task statements in one dialect, made from `TaskColumn`.
struct TaskSQL: Sendable {
    /// `INSERT INTO tasks (...) SELECT <the inserted columns' values>`: each database adds
    /// where the row comes from (its owner's row, which must exist and be under the quota), the
    /// `insertAllowed` condition and `insertReturning`.
    let insertSelect: String
    /// The parameter of the new task's owner, and the one after the columns' that holds the quota.
    let ownerParameter: String, limitParameter: String
    /// That the owner (who creates the task) is an editor or owner of the task's project, and
    /// the assignee, if any, a member of it.
    let insertAllowed: String
    /// What an insert returns: the new id, and the project and position the statement chose.
    static let insertReturning = "RETURNING id, project_id, position"
    /// The `updated` columns of a task, only at the expected version and only when the member
    /// named after the columns may write both the task's project and the one it goes to, and
    /// the assignee, if any, is a member of the latter; returns the id and the position. A changed reminder time fires again (`reminded_at` cleared).
    let update: String
    /// One task, of a project the member (the second parameter) belongs to.
    let byID: String

    init(_ dialect: SQLDialect) {
        let inserted = TaskColumn.inserted, updated = TaskColumn.updated
        func placeholder(_ column: TaskColumn, in columns: [TaskColumn]) -> String {
            dialect.placeholder(columns.firstIndex(of: column)! + 1)
        }
        let owner = placeholder(.userID, in: inserted)
        // No project given: the owner's Inbox. No position given: the end of the project.
        let project = "COALESCE(\(placeholder(.projectID, in: inserted)), (SELECT p.id FROM projects p WHERE p.created_by = \(owner) AND p.is_inbox))"
        let values = inserted.map { column in
            switch column {
            case .projectID: project
            case .position:
                """
                COALESCE(\(placeholder(.position, in: inserted)), \
                (SELECT max(e.position) FROM tasks e WHERE e.project_id = \(project)) + \(Int(ManualOrder.step)), \(Int(ManualOrder.step)))
                """
            default: placeholder(column, in: inserted)
            }
        }
        insertSelect = """
            INSERT INTO tasks (\(inserted.map(\.rawValue).joined(separator: ", ")))
            SELECT \(values.joined(separator: ", "))
            """
        ownerParameter = owner
        limitParameter = dialect.placeholder(inserted.count + 1)
        insertAllowed = Self.writer(project: project, member: owner) + " AND "
            + Self.assignable(project: project, assignee: placeholder(.assigneeID, in: inserted))
        let actor = dialect.placeholder(updated.count + 2)
        let newProject = placeholder(.projectID, in: updated)
        let assignments = updated.map { column in
            column == .position
                ? """
                position = COALESCE(\(placeholder(.position, in: updated)), \
                (SELECT COALESCE(max(e.position), 0) + \(Int(ManualOrder.step)) FROM tasks e WHERE e.project_id = \(newProject)))
                """
                : "\(column.rawValue) = \(placeholder(column, in: updated))"
        }
        let reminder = dialect.same(TaskColumn.remindAt.rawValue, placeholder(.remindAt, in: updated))
        update = """
            UPDATE tasks SET \(assignments.joined(separator: ", ")),
                reminded_at = CASE WHEN \(reminder) THEN reminded_at END
            WHERE id = \(dialect.placeholder(updated.count + 1)) AND version = \(dialect.placeholder(updated.count + 3))
            AND \(Self.writer(project: "tasks.project_id", member: actor)) AND \(Self.writer(project: newProject, member: actor))
            AND \(Self.assignable(project: newProject, assignee: placeholder(.assigneeID, in: updated)))
            RETURNING id, position
            """
        completeBelow = """
            WITH RECURSIVE below (id) AS (
                SELECT id FROM tasks WHERE parent_id = \(dialect.placeholder(1))
                UNION ALL SELECT t.id FROM tasks t JOIN below ON t.parent_id = below.id
            )
            UPDATE tasks SET completed = \(dialect.trueLiteral), completed_at = \(dialect.placeholder(3)), updated_at = \(dialect.placeholder(3)),
                version = version + 1
            WHERE id IN (SELECT id FROM below) AND completed = \(dialect.falseLiteral)
            AND \(Self.writer(project: "tasks.project_id", member: dialect.placeholder(2))) RETURNING id
            """
        let (listed, taken, moved) = (dialect.placeholder(1), dialect.placeholder(2), dialect.placeholder(3))
        renumberIfCrowded = """
            UPDATE tasks SET position = r.rank FROM (
                SELECT id, \(Int(ManualOrder.step)) * row_number() OVER (ORDER BY position, id <> \(moved), id) AS rank
                FROM tasks WHERE project_id = \(listed)
            ) r WHERE tasks.id = r.id AND tasks.position <> r.rank
            AND EXISTS (SELECT 1 FROM tasks c WHERE c.project_id = \(listed) AND c.position = \(taken) AND c.id <> \(moved))
            RETURNING tasks.id
            """
        byID = """
            SELECT \(dialect.task) FROM tasks WHERE id = \(dialect.placeholder(1)) \
            AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = tasks.project_id AND m.user_id = \(dialect.placeholder(2)))
            """
    }

    /// Completes the open tasks below the parent (first parameter) at every level, as the
    /// member (second), at a time (third); returns their ids. Sub-tasks nest at most four deep,
    /// so the recursion is short.
    let completeBelow: String

    /// Renumbers a project's tasks (first parameter) when a task (third) shares its new
    /// position (second) with another; see `TaskStore.settlePosition`.
    let renumberIfCrowded: String

    /// That `member` may write the tasks of `project`.
    static func writer(project: String, member: String) -> String {
        "EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = \(project) AND m.user_id = \(member) AND m.role IN ('owner', 'editor'))"
    }

    /// That `assignee` is nobody or a member of `project`. The cast types a NULL parameter,
    /// which PostgreSQL cannot infer from `IS NULL` alone.
    static func assignable(project: String, assignee: String) -> String {
        "(CAST(\(assignee) AS text) IS NULL OR EXISTS (SELECT 1 FROM project_members a WHERE a.project_id = \(project) AND a.user_id = \(assignee)))"
    }

    static let postgres = TaskSQL(.postgres)
    static let sqlite = TaskSQL(.sqlite)
}
