import PostgresNIO
import SQLiteNIO

/// A failure of the store, in its own terms: callers never see a driver's error. Each
/// database turns its driver's errors into these where it runs a statement (`translating`).
public struct StoreError: Error, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The database cannot be reached or is shutting down: try again later.
        case unavailable
        /// The database is busy with other work (locked, a deadlock or serialization failure): try again.
        case busy
        /// The write collides with a stored row (a unique key).
        case conflict
        /// The database refused a statement or returned a row that breaks the schema: a bug, not the caller's.
        case invalid
    }

    public var kind: Kind
    /// What happened, for the log only.
    public var reason: String

    public var description: String { "\(kind): \(reason)" }

    public init(kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public static func unavailable(_ reason: String) -> StoreError { StoreError(kind: .unavailable, reason: reason) }
    public static func invalid(_ reason: String) -> StoreError { StoreError(kind: .invalid, reason: reason) }

    /// Runs `work`, turning any driver error it throws into a `StoreError`.
    static func translating<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            throw StoreError(error)
        }
    }

    /// The store's word for `error`.
    init(_ error: any Error) {
        switch error {
        case let error as StoreError:
            self = error
        case let error as PSQLError:
            self.init(postgres: error)
        case let error as PostgresTransactionError:
            let cause = error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError
            self = cause.map { StoreError($0) } ?? .unavailable("\(String(reflecting: error))")
        case let error as SQLiteError:
            self.init(sqlite: error)
        case is CancellationError:
            self = .unavailable("cancelled")
        default:
            self = .invalid(String(reflecting: error))
        }
    }

    /// Anything about the connection, or a server shutting down, out of resources or asking for
    /// a retry, is transient; a unique key is a conflict; any other server-side error is a bug.
    private init(postgres error: PSQLError) {
        let detail = String(reflecting: error)
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
            self = .unavailable(detail)
            return
        }
        switch state {
        case "40001", "40P01": self.init(kind: .busy, reason: detail)
        case "23505": self.init(kind: .conflict, reason: detail)
        case _ where ["08", "53", "57", "58"].contains(String(state.prefix(2))): self = .unavailable(detail)
        default: self = .invalid(detail)
        }
    }

    private init(sqlite error: SQLiteError) {
        let detail = String(reflecting: error)
        switch error.reason {
        case .busy, .locked, .busyTimeout, .busyInRecovery, .busyInSnapshot, .lockedBySharedCache: self.init(kind: .busy, reason: detail)
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed: self.init(kind: .conflict, reason: detail)
        default: self = .invalid(detail)
        }
    }
}
