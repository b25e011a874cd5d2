import Foundation
import Logging
import NIOPosix
import SQLiteNIO
import Synchronization
import TodoCore

/// SQLite storage: one file in WAL mode, one writer connection and a few reader connections
/// (WAL lets readers run while a write commits). Every commit is fsynced (`synchronous=FULL`),
/// so an acknowledged write survives a crash of the process or the machine.
public final class SQLiteRepository: TodoRepository {
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    /// The writer's own thread: on the shared pool, each statement of a group commit queued
    /// behind the readers' queries, and in a busy mix of reads and writes that put creates'
    /// p99 over 50 ms (bench/RESULTS.md).
    private let writerThread: NIOThreadPool
    private let nextReader = Atomic<Int>(0)
    /// Every use of the writer holds this, so a statement never lands inside another task's transaction.
    private let writeLock: AsyncLock
    private let groupCommit: SQLiteGroupCommit

    private init(writer: SQLiteConnection, writerThread: NIOThreadPool, readers: [SQLiteConnection]) {
        self.writer = writer
        self.writerThread = writerThread
        self.readers = readers
        let lock = AsyncLock()
        self.writeLock = lock
        self.groupCommit = SQLiteGroupCommit(writer: writer, lock: lock)
    }

    /// Opens (and creates) the database file. `readerCount` sizes the reader pool. If any step
    /// fails, what was opened so far is closed again.
    public static func open(path: String, readerCount: Int, logger: Logger) async throws -> SQLiteRepository {
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), threadPool: writerThread, logger: logger,
                                                         on: MultiThreadedEventLoopGroup.singleton.any())
            opened.append(writer)
            _ = try await writer.query("PRAGMA journal_mode = WAL")
            try await configure(writer)
            var readers: [SQLiteConnection] = []
            for _ in 0..<max(1, readerCount) {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                opened.append(reader)
                try await configure(reader)
                _ = try await reader.query("PRAGMA query_only = ON")
                readers.append(reader)
            }
            return SQLiteRepository(writer: writer, writerThread: writerThread, readers: readers)
        } catch {
            for connection in opened { try? await connection.close() }
            try? await writerThread.shutdownGracefully()
            throw error
        }
    }

    /// Unicode-aware lower-casing for search and the title order.
    private static let fold = SQLiteCustomFunction("todo_fold", argumentCount: 1, pure: true) { arguments in
        arguments.first?.string?.lowercased()
    }

    private static func configure(_ connection: SQLiteConnection) async throws {
        try await connection.install(customFunction: fold)
        _ = try await connection.query("PRAGMA synchronous = FULL")
        _ = try await connection.query("PRAGMA foreign_keys = ON")
        _ = try await connection.query("PRAGMA busy_timeout = 5000")
    }

    public func close() async {
        for connection in readers + [writer] {
            try? await connection.close()
        }
        try? await writerThread.shutdownGracefully()
    }

    /// Runs one statement on the writer connection, committed with the writes queued alongside it.
    private func write(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await groupCommit.write(sql, binds)
    }

    private var reader: SQLiteConnection {
        readers[nextReader.add(1, ordering: .relaxed).newValue % readers.count]
    }

    // MARK: Schema

    public func migrate(logger: Logger) async throws {
        let writer = self.writer
        try await writeLock.withLock { try await Self.migrate(writer, logger: logger) }
    }

    private static func migrate(_ writer: SQLiteConnection, logger: Logger) async throws {
        _ = try await writer.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
        for migration in Migrations.sqlite {
            // BEGIN IMMEDIATE takes the write lock, so a second process waits here and then skips.
            _ = try await writer.query("BEGIN IMMEDIATE")
            do {
                let applied = try await writer.query("SELECT 1 FROM schema_migrations WHERE version = ?1", [.integer(migration.version)])
                if applied.isEmpty {
                    for statement in migration.statements { _ = try await writer.query(statement) }
                    _ = try await writer.query(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                        [.integer(migration.version), .text(migration.name), .integer(Int(Timestamp.now().millisecondsSinceEpoch))])
                    logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                }
                _ = try await writer.query("COMMIT")
            } catch {
                _ = try? await writer.query("ROLLBACK")
                throw error
            }
        }
    }

    public func appliedSchemaVersion() async throws -> Int {
        let exists = try await reader.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard !exists.isEmpty else { return 0 }
        let rows = try await reader.query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        return rows.first?.column("version")?.integer ?? 0
    }

    public func ping() async throws {
        _ = try await reader.query("SELECT 1")
    }

    // MARK: Users

    public func createUser(_ user: User, passwordHash: String) async throws -> User? {
        let rows = try await write(
            """
            INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (email) DO NOTHING RETURNING id
            """,
            [.text(user.id), .text(user.email), user.name.map(SQLiteData.text) ?? .null, .text(passwordHash),
             .integer(Int(user.createdAt.millisecondsSinceEpoch))])
        return rows.isEmpty ? nil : user
    }

    public func credentials(email: String) async throws -> StoredCredentials? {
        let rows = try await reader.query(
            "SELECT id, email, name, password_hash, created_at FROM users WHERE email = ?1", [.text(email)])
        guard let row = rows.first, let hash = row.column("password_hash")?.string else { return nil }
        return StoredCredentials(user: try Self.user(row), passwordHash: hash)
    }

    public func user(id: UserID) async throws -> User? {
        let rows = try await reader.query("SELECT id, email, name, created_at FROM users WHERE id = ?1", [.text(id)])
        return try rows.first.map(Self.user)
    }

    private static func user(_ row: SQLiteRow) throws -> User {
        guard let id = row.column("id")?.string, let email = row.column("email")?.string,
              let created = row.column("created_at")?.integer
        else { throw StoreUnavailable("malformed users row") }
        return User(id: id, email: email, name: row.column("name")?.string,
                    createdAt: Timestamp(millisecondsSinceEpoch: Int64(created)))
    }

    // MARK: Tasks

    private static let insertSQL = """
        INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at,
                           recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id)
        SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
        WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)
        RETURNING id
        """

    public func insertTask(_ task: TodoTask) async throws -> TodoTask? {
        let rows = try await write(Self.insertSQL, Self.insertBinds(task))
        guard let id = rows.first?.column("id")?.integer else { return nil }
        var stored = task
        stored.id = TaskID(id)
        return stored
    }

    public func task(id: TaskID, userID: UserID) async throws -> TodoTask? {
        let rows = try await reader.query(
            "SELECT \(TaskListSQL.columns) FROM tasks WHERE id = ?1 AND user_id = ?2", [.integer(Int(id)), .text(userID)])
        return try rows.first.map(Self.task)
    }

    public func listTasks(userID: UserID, query: TaskQuery) async throws -> TaskPage {
        let list = TaskListSQL(userID: userID, query: query, dialect: .sqlite)
        let rows = try await reader.query(list.sql, list.binds.map(Self.data))
        let byTitle = query.sort.field == .title
        let decoded = try rows.map { (task: try Self.task($0), titleKey: byTitle ? $0.column("sort_key")?.string : nil) }
        return TaskListSQL.page(rows: decoded, query: query)
    }

    private static let updateSQL = """
        UPDATE tasks SET title = ?1, description = ?2, completed = ?3, completed_at = ?4, priority = ?5, tags = ?6,
            due_at = ?7, remind_at = ?8, recurrence = ?9, version = ?10, updated_at = ?11, series_start = ?12,
            occurrence = ?13, next_occurrence_id = ?14,
            reminded_at = CASE WHEN remind_at IS ?8 THEN reminded_at ELSE NULL END
        WHERE id = ?15 AND user_id = ?16 AND version = ?17 RETURNING id
        """

    public func saveTask(_ task: TodoTask, expectedVersion: Int, followedBy next: TodoTask?) async throws -> SaveOutcome {
        guard let next else {
            let rows = try await write(Self.updateSQL, Self.updateBinds(task, expectedVersion: expectedVersion))
            return rows.isEmpty ? .conflict : .saved(next: nil)
        }
        return try await transaction { writer in
            let inserted = try await writer.query(Self.insertSQL, Self.insertBinds(next))
            guard let id = inserted.first?.column("id")?.integer else { throw Rollback() }
            var linked = task
            linked.nextOccurrenceID = TaskID(id)
            let updated = try await writer.query(Self.updateSQL, Self.updateBinds(linked, expectedVersion: expectedVersion))
            guard !updated.isEmpty else { throw Rollback() }
            var stored = next
            stored.id = TaskID(id)
            return .saved(next: stored)
        } onRollback: {
            .conflict
        }
    }

    public func deleteTask(id: TaskID, userID: UserID, expectedVersion: Int?) async throws -> DeleteOutcome {
        let rows = try await write(
            "DELETE FROM tasks WHERE id = ?1 AND user_id = ?2 AND (?3 IS NULL OR version = ?3) RETURNING id",
            [.integer(Int(id)), .text(userID), expectedVersion.map(SQLiteData.integer) ?? .null])
        if !rows.isEmpty { return .deleted }
        guard expectedVersion != nil, try await task(id: id, userID: userID) != nil else { return .notFound }
        return .versionMismatch
    }

    public func importTasks(_ tasks: [TodoTask], userID: UserID) async throws -> Int? {
        try await transaction { writer in
            for task in tasks {
                var owned = task
                owned.userID = userID
                guard try await !writer.query(Self.insertSQL, Self.insertBinds(owned)).isEmpty else { throw Rollback() }
            }
            return tasks.count
        } onRollback: {
            nil
        }
    }

    // MARK: Personal tokens

    public func createToken(_ token: PersonalToken, secretHash: String) async throws {
        _ = try await write(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            [.text(token.id), .text(token.userID), .text(token.name), .text(secretHash), Self.time(token.createdAt),
             Self.time(token.expiresAt)])
    }

    public func tokens(userID: UserID) async throws -> [PersonalToken] {
        let rows = try await reader.query(
            "SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens WHERE user_id = ?1 ORDER BY created_at, id",
            [.text(userID)])
        return try rows.map(Self.token)
    }

    public func deleteToken(id: String, userID: UserID) async throws -> Bool {
        try await !write("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2 RETURNING id", [.text(id), .text(userID)]).isEmpty
    }

    public func useToken(secretHash: String, at now: Timestamp) async throws -> PersonalToken? {
        let rows = try await write(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1 RETURNING id, user_id, name, created_at, expires_at, last_used_at",
            [.text(secretHash), Self.time(now)])
        return try rows.first.map(Self.token)
    }

    private static func token(_ row: SQLiteRow) throws -> PersonalToken {
        func time(_ name: String) -> Timestamp? { row.column(name)?.integer.map { Timestamp(millisecondsSinceEpoch: Int64($0)) } }
        guard let id = row.column("id")?.string, let userID = row.column("user_id")?.string,
              let name = row.column("name")?.string, let created = time("created_at")
        else { throw StoreUnavailable("malformed api_tokens row") }
        return PersonalToken(id: id, userID: userID, name: name, createdAt: created, expiresAt: time("expires_at"),
                             lastUsedAt: time("last_used_at"))
    }

    // MARK: Reminders and events

    public func claimDueReminders(at now: Timestamp, limit: Int) async throws -> Int {
        try await write(
            """
            UPDATE tasks SET reminded_at = ?1 WHERE id IN (
                SELECT id FROM tasks WHERE remind_at <= ?1 AND reminded_at IS NULL AND completed = 0 ORDER BY remind_at LIMIT ?2)
            RETURNING id
            """,
            [Self.time(now), .integer(limit)]).count
    }

    public func events(after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await reader.query(
            "SELECT id, user_id, kind, task_id FROM events WHERE id > ?1 ORDER BY id LIMIT ?2", [.integer(Int(id)), .integer(limit)]
        ).map(Self.event)
    }

    public func events(userID: UserID, after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await reader.query(
            "SELECT id, user_id, kind, task_id FROM events WHERE user_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            [.text(userID), .integer(Int(id)), .integer(limit)]
        ).map(Self.event)
    }

    public func latestEventID() async throws -> Int64 {
        Int64(try await reader.query("SELECT COALESCE(MAX(id), 0) AS id FROM events").first?.column("id")?.integer ?? 0)
    }

    public func pruneEvents(before time: Timestamp) async throws {
        _ = try await write("DELETE FROM events WHERE created_at < ?1", [Self.time(time)])
    }

    // MARK: Conversations

    public func createConversation(_ conversation: Conversation) async throws -> Conversation? {
        let rows = try await write(
            """
            INSERT INTO conversations (id, user_id, title, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5
            WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2) RETURNING id
            """,
            [.text(conversation.id), .text(conversation.userID), .text(conversation.title), Self.time(conversation.createdAt),
             Self.time(conversation.updatedAt)])
        return rows.isEmpty ? nil : conversation
    }

    public func conversation(id: String, userID: UserID) async throws -> Conversation? {
        try await reader.query(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE id = ?1 AND user_id = ?2",
            [.text(id), .text(userID)]
        ).first.map(Self.conversation)
    }

    public func conversations(userID: UserID, limit: Int) async throws -> [Conversation] {
        try await reader.query(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE user_id = ?1 ORDER BY updated_at DESC, id LIMIT ?2",
            [.text(userID), .integer(limit)]
        ).map(Self.conversation)
    }

    public func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws {
        _ = try await transaction { writer in
            for message in messages {
                _ = try await writer.query(
                    "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    [.text(conversationID), .text(message.role.rawValue), .text(message.content),
                     message.storedToolCalls.map(SQLiteData.text) ?? .null, message.toolCallID.map(SQLiteData.text) ?? .null,
                     Self.time(message.createdAt)])
            }
            _ = try await writer.query("UPDATE conversations SET updated_at = ?2 WHERE id = ?1", [.text(conversationID), Self.time(time)])
            return true
        } onRollback: {
            false
        }
    }

    public func messages(conversationID: String, limit: Int) async throws -> [ChatMessage] {
        let rows = try await reader.query(
            """
            SELECT role, content, tool_calls, tool_call_id, created_at FROM (
                SELECT * FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id
            """,
            [.text(conversationID), .integer(limit)])
        return try rows.map { row in
            try ChatMessage(
                role: row.column("role")?.string ?? "", content: row.column("content")?.string ?? "",
                storedToolCalls: row.column("tool_calls")?.string, toolCallID: row.column("tool_call_id")?.string,
                createdAt: Timestamp(millisecondsSinceEpoch: Int64(row.column("created_at")?.integer ?? 0)))
        }
    }

    private static func conversation(_ row: SQLiteRow) throws -> Conversation {
        guard let id = row.column("id")?.string, let userID = row.column("user_id")?.string, let title = row.column("title")?.string,
              let created = row.column("created_at")?.integer, let updated = row.column("updated_at")?.integer
        else { throw StoreUnavailable("malformed conversations row") }
        return Conversation(id: id, userID: userID, title: title, createdAt: Timestamp(millisecondsSinceEpoch: Int64(created)),
                            updatedAt: Timestamp(millisecondsSinceEpoch: Int64(updated)))
    }

    /// One process owns a SQLite file, so no other process writes events: nothing to listen to.
    public func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws {
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    private static func event(_ row: SQLiteRow) throws -> TaskEvent {
        guard let id = row.column("id")?.integer, let userID = row.column("user_id")?.string,
              let kind = row.column("kind")?.string.flatMap(EventKind.init(rawValue:)), let taskID = row.column("task_id")?.integer
        else { throw StoreUnavailable("malformed events row") }
        return TaskEvent(id: Int64(id), userID: userID, kind: kind, taskID: TaskID(taskID))
    }

    // MARK: Transactions

    private struct Rollback: Error {}

    /// Runs `body` in one write transaction; `Rollback` undoes it and answers `onRollback()`.
    private func transaction<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) async throws -> T, onRollback: @escaping @Sendable () -> T
    ) async throws -> T {
        let writer = self.writer
        return try await writeLock.withLock {
            _ = try await writer.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(writer)
                _ = try await writer.query("COMMIT")
                return result
            } catch is Rollback {
                _ = try await writer.query("ROLLBACK")
                return onRollback()
            } catch {
                _ = try? await writer.query("ROLLBACK")
                throw error
            }
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

    private static func time(_ value: Timestamp?) -> SQLiteData {
        value.map { .integer(Int($0.millisecondsSinceEpoch)) } ?? .null
    }

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
        guard cells.count >= 17 else { throw StoreUnavailable("malformed tasks row") }
        func time(_ index: Int) -> Timestamp? { cells[index].data.integer.map { Timestamp(millisecondsSinceEpoch: Int64($0)) } }
        guard let id = cells[0].data.integer, let userID = cells[1].data.string, let title = cells[2].data.string,
              let rank = cells[6].data.integer, let version = cells[11].data.integer,
              let created = time(12), let updated = time(13)
        else { throw StoreUnavailable("malformed tasks row") }
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
