import Foundation
import Logging
import PostgresNIO
import Testing
import TodoCore
@testable import TodoStore

/// A list reads each project's part with an ordered index scan, at most a page of it, whatever
/// PostgreSQL's statistics say: here a shared project forty times the size of the others was
/// filled after the last analyse, and the first page's plan was cached before.
@Suite(.enabled(if: Backend.available.contains(.postgres)))
struct ListPlanTests {
    /// The first page's prepared statement, its generic plan cached before the shared project.
    @Test func theFirstPageKeepsTheOrderedScanOnStaleStatistics() async throws {
        try await withStaleStatistics(prepared: NewestTasksStatement.sql) { connection in
            let plan = try await explain("EXECUTE newest('u7')", connection)
            #expect(plan.readsOrderedPages(index: "tasks_project_created", loops: 2, limit: 51), "Inbox and household: \(plan)")
        }
    }

    /// The control: the same statement with the limit in sight of the planner reads and sorts
    /// whole projects on this data; it is what the first page sent until the limit was hidden.
    @Test func withAVisibleLimitTheSamePlanReadsWholeProjects() async throws {
        let visible = NewestTasksStatement.sql.replacingOccurrences(of: "LIMIT (SELECT 51)", with: "LIMIT 51")
        try #require(visible != NewestTasksStatement.sql)
        try await withStaleStatistics(prepared: visible) { connection in
            let plan = try await explain("EXECUTE newest('u7')", connection)
            #expect(!plan.readsOrderedPages(index: "tasks_project_created", loops: 2, limit: 51), "\(plan)")
        }
    }

    /// Any other list is planned anew for each request (an unnamed statement), from the same
    /// stale statistics; a page of 50, the default.
    @Test(arguments: [
        (TaskQuery.SortField.created, true, "tasks_project_created"),
        (.due, false, "tasks_project_due"),
        (.position, false, "tasks_project_position"),
    ])
    func filteredListsKeepTheOrderedScan(_ field: TaskQuery.SortField, _ descending: Bool, _ index: String) async throws {
        try await withStaleStatistics(prepared: nil) { connection in
            var query = TaskQuery()
            query.status = .pending
            query.sort = .init(field: field, descending: descending)
            let list = TaskListSQL(userID: "u7", query: query, dialect: .postgres)
            let plan = try await explain(list.sql, bindings: list.bindings, connection)
            #expect(plan.readsOrderedPages(index: index, loops: 2, limit: 51), "\(plan)")
        }
    }

    /// The plan's lines.
    private func explain(_ statement: String, bindings: PostgresBindings = PostgresBindings(), _ connection: PostgresConnection)
        async throws -> [String]
    {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, binds: bindings),
                                              logger: Self.logger)
        var lines: [String] = []
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()

    /// A migrated database of its own (the planner's statistics are the point), autovacuum off
    /// for `tasks`: 100 users with 50 tasks each in their Inbox, analysed; `prepared` (with `$1`
    /// the user) prepared as `newest` and run seven times, which caches its generic plan; then a
    /// household project of 2,000 tasks shared by u1 to u10, with no analyse. `body` gets the
    /// connection that prepared the statement.
    private func withStaleStatistics(prepared: String?, _ body: (PostgresConnection) async throws -> Void) async throws {
        guard let url = Backend.postgresURL else { throw MissingPostgres() }
        let admin = PostgresClient(configuration: try DatabaseLocation(url: url).postgresConfiguration(poolSize: 1, connectTimeout: .seconds(30)))
        let name = "plan_" + UUID().uuidString.prefix(8).lowercased()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Self.logger)
            let drop = PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")
            do {
                try await seed(url: Self.url(url, database: name), prepared: prepared, body)
            } catch {
                try? await admin.query(drop, logger: Self.logger)
                throw error
            }
            try await admin.query(drop, logger: Self.logger)
        }
    }

    private func seed(url: String, prepared: String?, _ body: (PostgresConnection) async throws -> Void) async throws {
        let opened = try await DatabaseLocation(url: url).open(poolSize: 1, connectTimeout: .seconds(30), logger: Self.logger)
        let client = PostgresClient(configuration: try DatabaseLocation(url: url).postgresConfiguration(poolSize: 1, connectTimeout: .seconds(30)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await opened.service?.run() }
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await opened.storage.schema.migrate(logger: Self.logger)
            try await client.withConnection { connection in
                for statement in Self.smallTable { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger) }
                if let prepared {
                    try await connection.query(PostgresQuery(unsafeSQL: "PREPARE newest(text) AS \(prepared)"), logger: Self.logger)
                    for user in 1...7 {
                        try await connection.query(PostgresQuery(unsafeSQL: "EXECUTE newest('u\(user)')"), logger: Self.logger)
                    }
                }
                for statement in Self.sharedProject { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger) }
                try await body(connection)
            }
        }
    }

    private static func url(_ url: String, database: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + database
        return components.string!
    }

    private static func inboxTasks(_ count: Int) -> String {
        """
        INSERT INTO tasks (user_id, project_id, title, position, created_at, updated_at)
        SELECT p.created_by, p.id, 't' || g, g, now() - g * interval '1 second', now()
        FROM generate_series(1, \(count)) g JOIN projects p ON p.created_by = 'u' || (g % 100 + 1) AND p.is_inbox
        """
    }

    private static let smallTable = [
        "ALTER TABLE tasks SET (autovacuum_enabled = false)",
        "INSERT INTO users (id, email, password_hash, created_at) SELECT 'u' || g, 'u' || g || '@example.com', 'x', now() FROM generate_series(1, 100) g",
        inboxTasks(5_000),
        "ANALYZE",
    ]

    private static let sharedProject = [
        "INSERT INTO projects (created_by, name, created_at, updated_at) VALUES ('u1', 'household', now(), now())",
        """
        INSERT INTO project_members (project_id, user_id, role, position, created_at)
        SELECT (SELECT id FROM projects WHERE name = 'household'), 'u' || g, CASE WHEN g = 1 THEN 'owner' ELSE 'editor' END, 99, now()
        FROM generate_series(1, 10) g
        """,
        """
        INSERT INTO tasks (user_id, project_id, title, position, created_at, updated_at, due_at)
        SELECT 'u1', (SELECT id FROM projects WHERE name = 'household'), 'h' || g, g, now() + interval '1 hour' - g * interval '1 second',
            now(), now() + g * interval '1 hour'
        FROM generate_series(1, 2000) g
        """,
    ]
}

extension [String] {
    /// Whether every project's part is an ordered scan of `index` that stops at the page: no
    /// bitmap or sequential scan of `tasks`, and the index scan, run once per membership
    /// (`loops`), returns at most `limit` rows each time (a sort below the limit would have it
    /// return the whole project).
    fileprivate func readsOrderedPages(index: String, loops: Int, limit: Int) -> Bool {
        let scans = filter { $0.contains(" using \(index) on tasks") }
        return !contains { $0.contains("Bitmap Heap Scan on tasks") || $0.contains("Seq Scan on tasks") }
            && !scans.isEmpty && scans.allSatisfy { scan in
                guard let counts = scan.firstMatch(of: /actual rows=(\d+) loops=(\d+)\)/), let rows = Int(counts.1) else { return false }
                return rows <= limit && counts.2 == "\(loops)"
            }
    }
}
