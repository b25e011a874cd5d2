import Logging
import PostgresNIO
import ServiceLifecycle
import TodoTracing

/// PostgreSQL through PostgresNIO's connection pools, one per event loop: what every store of
/// this database shares. The pools are a `Service` that the application runs alongside the HTTP
/// server (`service`). Every statement runs through `query`, `execute`, `write` or
/// `transaction`, which bound its time and turn the driver's errors into `StoreError`.
final class PostgresDatabase: Sendable {
    private let pools: LoopPools
    let logger: Logger
    /// Runs the connection pools; must be part of the application's service group.
    var service: any Service { pools }

    /// How long a request may wait for the database before it fails with `StoreError.unavailable`:
    /// while PostgreSQL is down the pool would otherwise keep callers waiting indefinitely.
    let timeout: Duration

    /// Wakes `listenForEvents` on every replica after task changes.
    let announcer: ChangeAnnouncer

    /// Told of every lease, for the pool's metrics.
    let poolObserver: (any ConnectionPoolObserver)?

    init(configuration: PostgresClient.Configuration, timeout: Duration, poolObserver: (any ConnectionPoolObserver)?, logger: Logger) {
        let pools = LoopPools(configuration: configuration, logger: logger)
        self.pools = pools
        self.timeout = timeout
        self.logger = logger
        self.poolObserver = poolObserver
        poolObserver?.configured(maximumConnections: configuration.options.maximumConnections)
        self.announcer = ChangeAnnouncer {
            let client = pools.current
            _ = try await withDeadline(timeout) { try await client.query("NOTIFY todo_events", logger: logger) }
        }
    }

    /// The pool of the caller's event loop.
    var client: PostgresClient { pools.current }

    /// The stores of this database; call once (the task store groups its inserts).
    func makeStorage() -> Storage {
        Storage(
            schema: PostgresSchemaStore(database: self), accounts: PostgresAccountStore(database: self),
            tasks: PostgresTaskStore(database: self), events: PostgresEventStore(database: self),
            conversations: PostgresConversationStore(database: self), attempts: PostgresAttemptStore(database: self),
            sessions: PostgresSessionStore(database: self), passwordResets: PostgresPasswordResetStore(database: self),
            webhooks: PostgresWebhookStore(database: self), calendarObjects: PostgresCalendarObjectStore(database: self),
            push: PostgresPushStore(database: self), mail: PostgresMailStore(database: self),
            projects: PostgresProjectStore(database: self))
    }

    /// Runs `work` on a connection of the pool of the caller's loop, within `limit` (default: `timeout`),
    /// in a span named after the store method that called (`operation` and `file`, see `DatabaseSpan`).
    func run<T: Sendable>(
        within limit: Duration? = nil, operation: String = #function, file: String = #fileID,
        _ work: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        let client = self.client, logger = self.logger, observer = poolObserver, timeout = self.timeout
        return try await DatabaseSpan.around(system: "postgresql", operation: operation, file: file) {
            try await StoreError.translating {
                try await withDeadline(limit ?? timeout) {
                    try await Self.lease(from: client, observer: observer) { connection in try await work(connection, logger) }
                }
            }
        }
    }

    /// Runs `work` with a connection leased from `client`, telling `observer` how long the lease
    /// took and when it ends.
    static func lease<T: Sendable>(
        from client: PostgresClient, observer: (any ConnectionPoolObserver)?, _ work: (PostgresConnection) async throws -> T
    ) async throws -> T {
        guard let observer else { return try await client.withConnection { connection in try await work(connection) } }
        let start = ContinuousClock.now
        var leased = false
        observer.waitStarted()
        do {
            return try await client.withConnection { connection in
                leased = true
                observer.waitEnded(after: .now - start, leased: true)
                defer { observer.released() }
                return try await work(connection)
            }
        } catch {
            if !leased { observer.waitEnded(after: .now - start, leased: false) }
            throw error
        }
    }

    /// An unnamed statement, with `read` making the result of its rows.
    func query<T: Sendable>(
        _ statement: PostgresQuery, operation: String = #function, file: String = #fileID,
        _ read: @escaping @Sendable (PostgresRowSequence) async throws -> T
    ) async throws -> T {
        try await run(operation: operation, file: file) { connection, logger in try await read(try await connection.query(statement, logger: logger)) }
    }

    /// A prepared statement's rows.
    func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, operation: String = #function, file: String = #fileID
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        try await run(operation: operation, file: file) { connection, logger in
            var rows: [Statement.Row] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// Runs a single-statement write and returns its result only once the write is committed.
    /// PostgreSQL commits an implicit transaction at the protocol's Sync, after it has sent the
    /// rows and CommandComplete, and PostgresNIO finishes a query at CommandComplete: a server
    /// dying in between would leave a "successful" write that never committed. A second
    /// statement on the same connection runs only after that commit.
    func write<T: Sendable>(
        within limit: Duration? = nil, operation: String = #function, file: String = #fileID,
        _ statement: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try await run(within: limit, operation: operation, file: file) { connection, logger in
            let result = try await statement(connection, logger)
            for try await _ in try await connection.execute(CommitBarrierStatement(), logger: logger) {}
            return result
        }
    }

    /// `write` of an unnamed statement, with `read` making the result of its rows.
    func write<T: Sendable>(
        _ statement: PostgresQuery, operation: String = #function, file: String = #fileID,
        _ read: @escaping @Sendable (PostgresRowSequence) async throws -> T
    ) async throws -> T {
        try await write(operation: operation, file: file) { connection, logger in try await read(try await connection.query(statement, logger: logger)) }
    }

    /// Runs `body` in one transaction. `Rollback` thrown by `body` undoes it and answers nil.
    func transaction<T: Sendable>(
        operation: String = #function, file: String = #fileID, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T? {
        try await run(operation: operation, file: file) { connection, logger -> T? in
            do {
                return try await connection.withTransaction(logger: logger) { connection -> T in try await body(connection, logger) }
            } catch let error as PostgresTransactionError where error.closureError is Rollback {
                return nil
            }
        }
    }

    /// Thrown inside `transaction` to undo it.
    struct Rollback: Error {}

    /// Reads every row (so that the statement completes) and tells whether there was any.
    @Sendable static func hasRows(_ rows: PostgresRowSequence) async throws -> Bool {
        var any = false
        for try await _ in rows { any = true }
        return any
    }
}
