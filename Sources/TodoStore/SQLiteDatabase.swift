import Foundation
import Logging
import NIOPosix
import SQLiteNIO
import Synchronization
import TodoCore
import TodoTracing

/// SQLite: one file in WAL mode, one writer connection and a few reader connections (WAL lets
/// readers run while a write commits). Every commit is fsynced (`synchronous=FULL`), so an
/// acknowledged write survives a crash of the process or the machine. What every store of this
/// database shares; every statement runs through `read`, `write` or `transaction`, which turn
/// the driver's errors into `StoreError`.
final class SQLiteDatabase: Sendable {
    let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    /// The writer's own thread: on the shared pool, each statement of a group commit queued
    /// behind the readers' queries, and in a busy mix of reads and writes that put creates'
    /// p99 over 50 ms (bench/RESULTS.md).
    private let writerThread: NIOThreadPool
    private let nextReader = Atomic<Int>(0)
    /// Every use of the writer holds this, so a statement never lands inside another task's transaction.
    let writeLock: AsyncLock
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
    static func open(path: String, readerCount: Int, logger: Logger) async throws -> SQLiteDatabase {
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
            return SQLiteDatabase(writer: writer, writerThread: writerThread, readers: readers)
        } catch {
            for connection in opened { try? await connection.close() }
            try? await writerThread.shutdownGracefully()
            throw StoreError(error)
        }
    }

    /// The stores of this database.
    func makeStorage() -> Storage {
        Storage(
            schema: SQLiteSchemaStore(database: self), accounts: SQLiteAccountStore(database: self),
            tasks: SQLiteTaskStore(database: self), events: SQLiteEventStore(database: self),
            conversations: SQLiteConversationStore(database: self), attempts: MemoryAttemptStore(),
            sessions: SQLiteSessionStore(database: self), passwordResets: SQLitePasswordResetStore(database: self),
            webhooks: SQLiteWebhookStore(database: self), calendarObjects: SQLiteCalendarObjectStore(database: self),
            push: SQLitePushStore(database: self), mail: SQLiteMailStore(database: self),
            projects: SQLiteProjectStore(database: self))
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

    func close() async {
        for connection in readers + [writer] {
            try? await connection.close()
        }
        try? await writerThread.shutdownGracefully()
    }

    // Each of `read`, `write` and `transaction` is one span named after the store method that
    // called it (`operation` and `file`, see `DatabaseSpan`).

    /// Runs one query on a reader connection.
    func read(_ sql: String, _ binds: [SQLiteData] = [], operation: String = #function, file: String = #fileID) async throws -> [SQLiteRow] {
        let reader = readers[nextReader.add(1, ordering: .relaxed).newValue % readers.count]
        return try await DatabaseSpan.around(system: "sqlite", operation: operation, file: file) {
            try await StoreError.translating { try await reader.query(sql, binds) }
        }
    }

    /// Runs one statement on the writer connection, committed with the writes queued alongside it.
    func write(_ sql: String, _ binds: [SQLiteData] = [], operation: String = #function, file: String = #fileID) async throws -> [SQLiteRow] {
        try await DatabaseSpan.around(system: "sqlite", operation: operation, file: file) {
            try await StoreError.translating { try await groupCommit.write(sql, binds) }
        }
    }

    /// Thrown inside `transaction` to undo it.
    struct Rollback: Error {}

    /// Runs `body` in one write transaction; `Rollback` undoes it and answers nil.
    func transaction<T: Sendable>(
        operation: String = #function, file: String = #fileID, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T? {
        let writer = self.writer
        return try await DatabaseSpan.around(system: "sqlite", operation: operation, file: file) {
            try await transactionUntraced(writer: writer, body)
        }
    }

    private func transactionUntraced<T: Sendable>(
        writer: SQLiteConnection, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T? {
        try await StoreError.translating {
            try await writeLock.withLock {
                _ = try await writer.query("BEGIN IMMEDIATE")
                do {
                    let result = try await body(writer)
                    _ = try await writer.query("COMMIT")
                    return result
                } catch is Rollback {
                    _ = try await writer.query("ROLLBACK")
                    return nil
                } catch {
                    _ = try? await writer.query("ROLLBACK")
                    throw error
                }
            }
        }
    }

    static func time(_ value: Timestamp?) -> SQLiteData {
        value.map { .integer(Int($0.millisecondsSinceEpoch)) } ?? .null
    }

    static func time(_ data: SQLiteData?) -> Timestamp? {
        data?.integer.map { Timestamp(millisecondsSinceEpoch: Int64($0)) }
    }
}
