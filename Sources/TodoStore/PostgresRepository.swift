import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TodoCore

/// PostgreSQL storage through PostgresNIO's connection pools, one per event loop. The pools
/// are a `Service` that the application runs alongside the HTTP server (`service`).
public final class PostgresRepository: TodoRepository {
    private let pools: LoopPools
    private var client: PostgresClient { pools.current }
    private let logger: Logger
    /// Runs the connection pools; must be part of the application's service group.
    public var service: any Service { pools }

    /// An arbitrary constant shared by every replica: the key of the migration advisory lock.
    private static let migrationLockKey: Int64 = 7_226_871_104_113

    /// How long a request may wait for the database before it fails with `StoreUnavailable`:
    /// while PostgreSQL is down the pool would otherwise keep callers waiting indefinitely.
    private let timeout: Duration

    /// Wakes `listenForEvents` on every replica after task changes.
    private let announcer: ChangeAnnouncer

    /// New tasks, inserted and committed in groups (see `insertTogether`).
    private let inserts: WriteGroups<NewTask, Int64?>

    /// A task waiting for its group, and when its caller's `timeout` runs out: waiting for the
    /// group ahead counts, so a create fails within `timeout` even while the database is down.
    private struct NewTask: Sendable {
        var task: TodoTask
        var deadline: ContinuousClock.Instant
    }

    public init(configuration: PostgresClient.Configuration, timeout: Duration = .seconds(5), logger: Logger) {
        let pools = LoopPools(configuration: configuration, logger: logger)
        self.pools = pools
        self.timeout = timeout
        self.logger = logger
        self.announcer = ChangeAnnouncer {
            let client = pools.current
            _ = try await withDeadline(timeout) { try await client.query("NOTIFY todo_events", logger: logger) }
        }
        self.inserts = WriteGroups { group in
            await Self.insertTogether(group, client: pools.current, logger: logger)
        }
    }

    private func query(_ statement: PostgresQuery) async throws -> PostgresRowSequence {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout) { try await client.query(statement, logger: logger) }
    }

    /// Runs a single-statement write and returns its result only once the write is committed.
    /// PostgreSQL commits an implicit transaction at the protocol's Sync, after it has sent the
    /// rows and CommandComplete, and PostgresNIO finishes a query at CommandComplete: a server
    /// dying in between would leave a "successful" write that never committed. A second
    /// statement on the same connection runs only after that commit.
    private func write<T: Sendable>(_ statement: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.write(client: client, timeout: timeout, logger: logger, statement)
    }

    private static func write<T: Sendable>(
        client: PostgresClient, timeout: Duration, logger: Logger,
        _ statement: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withDeadline(timeout) {
            try await client.withConnection { connection -> T in
                let result = try await statement(connection)
                for try await _ in try await connection.execute(CommitBarrierStatement(), logger: logger) {}
                return result
            }
        }
    }

    /// `write` of an unnamed statement, with `read` making the result of its rows.
    private func write<T: Sendable>(
        _ statement: PostgresQuery, _ read: @escaping @Sendable (PostgresRowSequence) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await write { connection in try await read(try await connection.query(statement, logger: logger)) }
    }

    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout) {
            try await client.withTransaction(logger: logger) { connection -> T in try await body(connection) }
        }
    }

    private func run(_ sql: String, _ binds: [SQLBind] = []) async throws -> PostgresRowSequence {
        try await query(PostgresQuery(unsafeSQL: sql, binds: Self.bindings(binds)))
    }

    private static func bindings(_ binds: [SQLBind]) -> PostgresBindings {
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

    // MARK: Schema

    public func migrate(logger: Logger) async throws {
        try await client.withConnection { connection in
            // A session-level advisory lock: replicas starting together apply each migration once.
            _ = try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: logger)
            do {
                try await Self.applyPending(on: connection, logger: logger)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                throw error
            }
        }
    }

    private static func applyPending(on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
            logger: logger)
        var applied: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int32.self) { applied.insert(Int(version)) }
        for migration in Migrations.postgres where !applied.contains(migration.version) {
            _ = try await connection.query("BEGIN", logger: logger)
            do {
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(Int32(migration.version)), \(migration.name))",
                    logger: logger)
                _ = try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }

    public func appliedSchemaVersion() async throws -> Int {
        let rows = try await run(
            "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE (SELECT COALESCE(MAX(version), 0) FROM schema_migrations) END")
        for try await version in rows.decode(Int32.self) { return Int(version) }
        return 0
    }

    public func ping() async throws {
        _ = try await run("SELECT 1")
    }

    // MARK: Users

    public func createUser(_ user: User, passwordHash: String) async throws -> User? {
        var bindings = Self.bindings([.text(user.id), .text(user.email), .text(passwordHash), .time(user.createdAt)])
        bindings.append(user.name)
        let created = try await write(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO users (id, email, password_hash, created_at, name) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (email) DO NOTHING RETURNING id
                    """,
                binds: bindings),
            Self.hasRows)
        return created ? user : nil
    }

    public func credentials(email: String) async throws -> StoredCredentials? {
        let rows = try await run("SELECT id, email, name, created_at, password_hash FROM users WHERE email = $1", [.text(email)])
        for try await (id, email, name, created, hash) in rows.decode((String, String, String?, Timestamp, String).self) {
            return StoredCredentials(user: User(id: id, email: email, name: name, createdAt: created), passwordHash: hash)
        }
        return nil
    }

    public func user(id: UserID) async throws -> User? {
        let rows = try await run("SELECT id, email, name, created_at FROM users WHERE id = $1", [.text(id)])
        for try await (id, email, name, created) in rows.decode((String, String, String?, Timestamp).self) {
            return User(id: id, email: email, name: name, createdAt: created)
        }
        return nil
    }

    // MARK: Tasks

    public func insertTask(_ task: TodoTask) async throws -> TodoTask? {
        guard let id = try await inserts.write(NewTask(task: task, deadline: .now + timeout)) else { return nil }
        announcer.changed()
        var stored = task
        stored.id = id
        return stored
    }

    /// Inserts a group of new tasks with one statement (`InsertTasksStatement`) and one commit:
    /// creating tasks was bound by round trips and commits, two of each per task. A server error
    /// (a constraint, say) fails the whole statement; then each task goes on its own, so that a
    /// bad task fails alone. Tasks whose deadline passed while they waited fail without running.
    private static func insertTogether(_ group: [WriteGroups<NewTask, Int64?>.Write], client: PostgresClient, logger: Logger) async {
        let group = group.filter { write in
            if remaining(write.input.deadline) != nil { return true }
            write.fail(Self.expired)
            return false
        }
        if group.count > 1, let limit = remaining(group.map(\.input.deadline).min()!) {
            do {
                let statement = InsertTasksStatement(tasks: group.map(\.input.task))
                let ids = try await write(client: client, timeout: limit, logger: logger) { connection in
                    var ids: [Int64?] = []
                    for try await id in try await connection.execute(statement, logger: logger) { ids.append(id) }
                    return ids
                }
                guard ids.count == group.count else { throw StoreUnavailable("a group insert returned \(ids.count) of \(group.count) rows") }
                for (write, id) in zip(group, ids) { write.succeed(id) }
                return
            } catch let error as PSQLError where error.code == .server {
                logger.debug("a group insert failed; inserting its tasks one by one", metadata: ["error": "\(String(reflecting: error))"])
            } catch {
                for write in group { write.fail(error) }
                return
            }
        }
        for write in group {
            do {
                guard let limit = remaining(write.input.deadline) else { throw Self.expired }
                write.succeed(try await Self.write(client: client, timeout: limit, logger: logger) { connection in
                    try await insert(write.input.task, on: connection, logger: logger)
                })
            } catch {
                write.fail(error)
            }
        }
    }

    /// A create whose deadline passed while it waited for its group.
    private static var expired: StoreUnavailable { StoreUnavailable("the database did not answer in time") }

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

    public func task(id: TaskID, userID: UserID) async throws -> TodoTask? {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout) {
            var found: TodoTask?
            for try await task in try await client.execute(TaskByIDStatement(id: id, userID: userID), logger: logger) { found = task }
            return found
        }
    }

    public func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage {
        if let newest = NewestTasksStatement(userID: userID, query: query) {
            let client = self.client, logger = self.logger
            let rows = try await withDeadline(timeout) {
                var tasks: [(task: TodoTask, titleKey: String?)] = []
                tasks.reserveCapacity(NewestTasksStatement.rows)
                for try await task in try await client.execute(newest, logger: logger) { tasks.append((task, nil)) }
                return tasks
            }
            return TaskListSQL.page(rows: rows, query: query)
        }
        let list = TaskListSQL(userID: userID, query: query, dialect: .postgres)
        var decoded: [(task: TodoTask, titleKey: String?)] = []
        decoded.reserveCapacity(query.limit + 1)
        for try await row in try await run(list.sql, list.binds) {
            let titleKey = query.sort.field == .title ? try row.makeRandomAccess()["sort_key"].decode(String.self, context: .default) : nil
            decoded.append((try TaskRowDecoder.task(row), titleKey))
        }
        return TaskListSQL.page(rows: decoded, query: query)
    }

    private static let updateSQL = """
        UPDATE tasks SET title = $1, description = $2, completed = $3, completed_at = $4, priority = $5, tags = $6,
            due_at = $7, remind_at = $8, recurrence = $9, version = $10, updated_at = $11, series_start = $12,
            occurrence = $13, next_occurrence_id = $14,
            reminded_at = CASE WHEN remind_at IS NOT DISTINCT FROM $8 THEN reminded_at END
        WHERE id = $15 AND user_id = $16 AND version = $17 RETURNING id
        """

    public func saveTask(_ task: TodoTask, expectedVersion: Int, followedBy next: TodoTask?) async throws -> SaveOutcome {
        guard let next else {
            let saved = try await write(
                PostgresQuery(unsafeSQL: Self.updateSQL, binds: TaskRowEncoder.updateBindings(task, expectedVersion: expectedVersion)), Self.hasRows)
            guard saved else { return .conflict }
            announcer.changed()
            return .saved(next: nil)
        }
        do {
            let outcome = try await transaction { [logger] connection in
                var stored = next
                guard let newID = try await Self.insert(next, on: connection, logger: logger) else { throw Rollback() }
                stored.id = newID
                var linked = task
                linked.nextOccurrenceID = newID
                let updated = try await connection.query(
                    PostgresQuery(unsafeSQL: Self.updateSQL, binds: TaskRowEncoder.updateBindings(linked, expectedVersion: expectedVersion)),
                    logger: logger)
                var saved = false
                for try await _ in updated { saved = true }
                guard saved else { throw Rollback() }
                return SaveOutcome.saved(next: stored)
            }
            announcer.changed()
            return outcome
        } catch let error as PostgresTransactionError where error.closureError is Rollback {
            return .conflict
        }
    }

    public func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome {
        let deleted = try await write(
            """
            DELETE FROM tasks WHERE id = \(id) AND user_id = \(userID) AND (\(expectedVersion.map(Int32.init))::integer IS NULL OR version = \(expectedVersion.map(Int32.init)))
            RETURNING id
            """,
            Self.hasRows)
        if deleted {
            announcer.changed()
            return .deleted
        }
        guard expectedVersion != nil, try await task(id: id, userID: userID) != nil else { return .notFound }
        return .versionMismatch
    }

    public func importTasks(_ tasks: [TodoTask], userID: UserID) async throws -> Int? {
        do {
            let count = try await transaction { [logger] connection in
                for task in tasks {
                    var owned = task
                    owned.userID = userID
                    guard try await Self.insert(owned, on: connection, logger: logger) != nil else { throw Rollback() }
                }
                return tasks.count
            }
            announcer.changed()
            return count
        } catch let error as PostgresTransactionError where error.closureError is Rollback {
            return nil
        }
    }

    private struct Rollback: Error {}

    /// Reads every row (so that the statement completes) and tells whether there was any.
    @Sendable private static func hasRows(_ rows: PostgresRowSequence) async throws -> Bool {
        var any = false
        for try await _ in rows { any = true }
        return any
    }

    // MARK: Personal tokens

    public func createToken(_ token: PersonalToken, secretHash: String) async throws {
        _ = try await write(
            """
            INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at)
            VALUES (\(token.id), \(token.userID), \(token.name), \(secretHash), \(token.createdAt), \(token.expiresAt))
            """,
            Self.hasRows)
    }

    public func tokens(userID: UserID) async throws -> [PersonalToken] {
        let rows = try await query(
            "SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens WHERE user_id = \(userID) ORDER BY created_at, id")
        var tokens: [PersonalToken] = []
        for try await (id, userID, name, created, expires, lastUsed) in rows.decode((String, String, String, Timestamp, Timestamp?, Timestamp?).self) {
            tokens.append(PersonalToken(id: id, userID: userID, name: name, createdAt: created, expiresAt: expires, lastUsedAt: lastUsed))
        }
        return tokens
    }

    public func deleteToken(id: String, userID: UserID) async throws -> Bool {
        try await write("DELETE FROM api_tokens WHERE id = \(id) AND user_id = \(userID) RETURNING id", Self.hasRows)
    }

    public func useToken(secretHash: String, at now: Timestamp) async throws -> PersonalToken? {
        let rows = try await query(
            """
            UPDATE api_tokens SET last_used_at = \(now) WHERE token_hash = \(secretHash)
            RETURNING id, user_id, name, created_at, expires_at, last_used_at
            """)
        for try await (id, userID, name, created, expires, lastUsed) in rows.decode((String, String, String, Timestamp, Timestamp?, Timestamp?).self) {
            return PersonalToken(id: id, userID: userID, name: name, createdAt: created, expiresAt: expires, lastUsedAt: lastUsed)
        }
        return nil
    }

    // MARK: Reminders and events

    public func claimDueReminders(at now: Timestamp, limit: Int) async throws -> Int {
        // SKIP LOCKED: replicas polling at the same moment claim disjoint rows instead of waiting.
        let rows = try await query(
            """
            UPDATE tasks SET reminded_at = \(now) WHERE id IN (
                SELECT id FROM tasks WHERE remind_at <= \(now) AND reminded_at IS NULL AND completed = false
                ORDER BY remind_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING id
            """)
        var count = 0
        for try await _ in rows { count += 1 }
        if count > 0 { announcer.changed() }
        return count
    }

    public func events(after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await Self.events(query(
            "SELECT id, user_id, kind, task_id FROM events WHERE id > \(id) ORDER BY id LIMIT \(Int64(limit))"))
    }

    public func events(userID: UserID, after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await Self.events(query(
            "SELECT id, user_id, kind, task_id FROM events WHERE user_id = \(userID) AND id > \(id) ORDER BY id LIMIT \(Int64(limit))"))
    }

    private static func events(_ rows: PostgresRowSequence) async throws -> [TaskEvent] {
        var events: [TaskEvent] = []
        for try await (id, userID, kind, taskID) in rows.decode((Int64, String, String, Int64).self) {
            guard let kind = EventKind(rawValue: kind) else { throw StoreUnavailable("unknown event kind \(kind)") }
            events.append(TaskEvent(id: id, userID: userID, kind: kind, taskID: taskID))
        }
        return events
    }

    public func latestEventID() async throws -> Int64 {
        for try await id in try await query("SELECT COALESCE(MAX(id), 0)::bigint FROM events").decode(Int64.self) {
            return id
        }
        return 0
    }

    public func pruneEvents(before time: Timestamp) async throws {
        _ = try await query("DELETE FROM events WHERE created_at < \(time)")
    }

    // MARK: Conversations

    public func createConversation(_ conversation: Conversation) async throws -> Conversation? {
        let rows = try await query(
            """
            INSERT INTO conversations (id, user_id, title, created_at, updated_at)
            SELECT \(conversation.id), \(conversation.userID), \(conversation.title), \(conversation.createdAt), \(conversation.updatedAt)
            WHERE EXISTS (SELECT 1 FROM users WHERE id = \(conversation.userID)) RETURNING id
            """)
        for try await _ in rows { return conversation }
        return nil
    }

    public func conversation(id: String, userID: UserID) async throws -> Conversation? {
        try await Self.conversations(query(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE id = \(id) AND user_id = \(userID)")).first
    }

    public func conversations(userID: UserID, limit: Int) async throws -> [Conversation] {
        try await Self.conversations(query(
            """
            SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE user_id = \(userID)
            ORDER BY updated_at DESC, id LIMIT \(Int64(limit))
            """))
    }

    private static func conversations(_ rows: PostgresRowSequence) async throws -> [Conversation] {
        var conversations: [Conversation] = []
        for try await (id, userID, title, created, updated) in rows.decode((String, String, String, Timestamp, Timestamp).self) {
            conversations.append(Conversation(id: id, userID: userID, title: title, createdAt: created, updatedAt: updated))
        }
        return conversations
    }

    public func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws {
        try await transaction { [logger] connection in
            for message in messages {
                _ = try await connection.query(
                    """
                    INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at)
                    VALUES (\(conversationID), \(message.role.rawValue), \(message.content), \(message.storedToolCalls), \(message.toolCallID), \(message.createdAt))
                    """,
                    logger: logger)
            }
            _ = try await connection.query("UPDATE conversations SET updated_at = \(time) WHERE id = \(conversationID)", logger: logger)
        }
    }

    public func messages(conversationID: String, limit: Int) async throws -> [ChatMessage] {
        let rows = try await query(
            """
            SELECT role, content, tool_calls, tool_call_id, created_at FROM (
                SELECT * FROM messages WHERE conversation_id = \(conversationID) ORDER BY id DESC LIMIT \(Int64(limit))) AS recent ORDER BY id
            """)
        var messages: [ChatMessage] = []
        for try await (role, content, calls, callID, created) in rows.decode((String, String, String?, String?, Timestamp).self) {
            messages.append(try ChatMessage(role: role, content: content, storedToolCalls: calls, toolCallID: callID, createdAt: created))
        }
        return messages
    }

    /// Calls `wake` after new events on any replica (`NOTIFY todo_events` from `ChangeAnnouncer`),
    /// holding one pooled connection until the task is cancelled.
    public func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: "todo_events") { notifications in
                for try await _ in notifications { await wake() }
            }
        }
    }
}

/// Sends `NOTIFY todo_events` after task changes: at once after a quiet spell, then at most once
/// per `interval` while changes keep coming. A notifying transaction holds a cluster-wide lock
/// until its commit is on disk, so notifying in every write serialised all writes behind one
/// fsync each (bench/RESULTS.md); this costs one small transaction per interval instead. A lost
/// announcement only delays events to the listeners' next poll.
final class ChangeAnnouncer: Sendable {
    private struct State {
        var announcing = false
        var changedMeanwhile = false
    }

    private let state = Mutex(State())
    private let interval: Duration
    private let notify: @Sendable () async throws -> Void

    init(interval: Duration = .milliseconds(20), notify: @escaping @Sendable () async throws -> Void) {
        self.interval = interval
        self.notify = notify
    }

    /// Called after a change has committed.
    func changed() {
        let start = state.withLock { state -> Bool in
            if state.announcing {
                state.changedMeanwhile = true
                return false
            }
            state.announcing = true
            return true
        }
        if start { Task { await announce() } }
    }

    private func announce() async {
        repeat {
            try? await notify()
            try? await Task.sleep(for: interval)
        } while state.withLock { state -> Bool in
            guard state.changedMeanwhile else {
                state.announcing = false
                return false
            }
            state.changedMeanwhile = false
            return true
        }
    }
}
