import Crypto
import Foundation
import ServiceLifecycle
import Synchronization
import TodoCore
import TodoServer
import TodoStore

/// At most `limit` attempts per key within `window`, counted in the store's shared counters
/// (every replica's attempts together) before the guarded work runs: a burst of parallel
/// attempts cannot slip past a check that only counts what has already failed.
struct AttemptLimit: Sendable {
    let attempts: any AttemptStore
    /// Distinguishes this limit's keys from other limits' in the shared store.
    let name: String
    let limit: Int
    let window: Duration

    /// Counts an attempt under `subject`; the seconds to wait when it is over the limit, else nil.
    func admit(_ subject: String) async throws -> Int? {
        let now = Timestamp.now()
        let counted = try await attempts.countAttempt(key(subject), window: window, at: now)
        guard counted.count > limit else { return nil }
        return max(1, Int((counted.endsAt.millisecondsSinceEpoch - now.millisecondsSinceEpoch + 999) / 1000))
    }

    func forget(_ subject: String) async throws {
        try await attempts.forgetAttempt(key(subject))
    }

    func clear(_ subject: String) async throws {
        try await attempts.clearAttempts(key(subject))
    }

    /// Keys hold a hash, not the e-mail or address itself: the table is not a log of who tried.
    private func key(_ subject: String) -> String {
        name + ":" + SHA256.hash(data: Data(subject.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

/// Slows down password guessing. Every log-in counts against its account (`limit` in the window)
/// and its client address (`addressLimit`) before the password is checked; a successful log-in
/// clears its account's count and takes its own attempt back from the address (so a household
/// or office behind one address is not locked out by its own log-ins). At most
/// `concurrentPerAccount` checks of one account's password run at once in a process.
struct LoginThrottle: Sendable {
    let accounts: AttemptLimit
    let addresses: AttemptLimit
    let inFlight: InFlightLimit

    init(attempts: any AttemptStore, limit: Int, addressLimit: Int, window: Duration = .seconds(900), concurrentPerAccount: Int = 2) {
        accounts = AttemptLimit(attempts: attempts, name: "login.account", limit: limit, window: window)
        addresses = AttemptLimit(attempts: attempts, name: "login.address", limit: addressLimit, window: window)
        inFlight = InFlightLimit(limit: concurrentPerAccount)
    }

    /// Runs `check` (the password check) if the attempt is allowed; throws 429 when it is not.
    /// `check` answers whether the log-in succeeded.
    ///
    /// The address is counted first, and the account only when the address is allowed: an
    /// address that has spent its budget cannot go on counting against accounts, or it could
    /// lock every account whose e-mail it knows with cheap refused attempts (no password check).
    func attempt(email: String, address: String?, _ check: () async throws -> Bool) async throws -> Bool {
        var wait = try await address.asyncFlatMap { try await addresses.admit($0) }
        if wait == nil { wait = try await accounts.admit(email) }
        if let wait { throw Self.tooMany(wait, "too many failed log-ins; try again in \(wait) s") }
        guard inFlight.enter(email) else { throw Self.tooMany(1, "a log-in to this account is already being checked; try again") }
        defer { inFlight.leave(email) }
        let succeeded = try await check()
        if succeeded {
            try await accounts.clear(email)
            if let address { try await addresses.forget(address) }
        }
        return succeeded
    }

    static func tooMany(_ wait: Int, _ message: String) -> APIError {
        .tooManyRequests(wait, code: "too_many_attempts", message)
    }
}

/// Drops what has ended (attempt windows, expired sessions) every `interval`, once the schema exists.
struct Pruning: Service {
    let readiness: Readiness
    let interval: Duration
    let prune: @Sendable () async -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if readiness.isSchemaReady { await prune() }
        }
    }
}
