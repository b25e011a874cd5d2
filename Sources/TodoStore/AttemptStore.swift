import Synchronization
import TodoCore

/// Counts recent attempts (log-ins, sign-ups) per key, for throttling. On PostgreSQL the counts
/// are rows every replica shares, so N replicas do not give N times the budget; SQLite is served
/// by one process, which keeps them in memory.
public protocol AttemptStore: Sendable {
    /// Adds one attempt under `key` and returns the window it fell in: how many attempts it holds,
    /// this one included, and when it ends. A window of `length` starts with the first attempt
    /// after the previous window ended. Concurrent calls each see a different count.
    func countAttempt(_ key: String, window length: Duration, at now: Timestamp) async throws -> AttemptWindow
    /// Takes one attempt back (one that turned out not to count, such as a successful log-in
    /// from an address many people share).
    func forgetAttempt(_ key: String) async throws
    /// Ends the key's window (a successful log-in clears its account's failures).
    func clearAttempts(_ key: String) async throws
    /// Drops windows that ended before `time`.
    func pruneAttempts(before time: Timestamp) async throws
}

public struct AttemptWindow: Sendable, Equatable {
    public var count: Int
    public var endsAt: Timestamp

    public init(count: Int, endsAt: Timestamp) {
        self.count = count
        self.endsAt = endsAt
    }
}

/// Attempt windows in this process's memory: for a database only one process serves (SQLite).
/// At most `capacity` keys; past that, ended windows are dropped first, then the oldest.
final class MemoryAttemptStore: AttemptStore {
    private let windows = Mutex<[String: AttemptWindow]>([:])
    private let capacity: Int

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func countAttempt(_ key: String, window length: Duration, at now: Timestamp) async throws -> AttemptWindow {
        windows.withLock { windows in
            if windows.count >= capacity, windows[key] == nil { Self.makeRoom(in: &windows, now: now, capacity: capacity) }
            var window = windows[key].flatMap { $0.endsAt > now ? $0 : nil }
                ?? AttemptWindow(count: 0, endsAt: now.adding(milliseconds: Int64(length.components.seconds) * 1000))
            window.count += 1
            windows[key] = window
            return window
        }
    }

    func forgetAttempt(_ key: String) async throws {
        windows.withLock { windows in
            if let window = windows[key], window.count > 0 { windows[key]?.count = window.count - 1 }
        }
    }

    func clearAttempts(_ key: String) async throws {
        _ = windows.withLock { $0.removeValue(forKey: key) }
    }

    func pruneAttempts(before time: Timestamp) async throws {
        windows.withLock { windows in windows = windows.filter { $0.value.endsAt >= time } }
    }

    private static func makeRoom(in windows: inout [String: AttemptWindow], now: Timestamp, capacity: Int) {
        windows = windows.filter { $0.value.endsAt > now }
        if windows.count >= capacity, let oldest = windows.min(by: { $0.value.endsAt < $1.value.endsAt })?.key {
            windows[oldest] = nil
        }
    }
}
