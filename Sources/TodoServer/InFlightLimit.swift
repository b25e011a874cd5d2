import Synchronization

/// How many of one key's operations run at once in this process, up to `limit`.
public final class InFlightLimit: Sendable {
    private let running = Mutex<[String: Int]>([:])
    public let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    /// Whether another operation may start now; if so, `leave` must follow.
    public func enter(_ key: String) -> Bool {
        running.withLock { running in
            let count = running[key, default: 0]
            guard count < limit else { return false }
            running[key] = count + 1
            return true
        }
    }

    public func leave(_ key: String) {
        running.withLock { running in
            let count = running[key, default: 1] - 1
            running[key] = count > 0 ? count : nil
        }
    }

    /// A place for one operation that outlives the call that took it (a streamed response), or nil
    /// when the key is at its limit. The place is given back when the slot is released, however
    /// the operation ends: finished, failed, or never started because its response was dropped.
    public func slot(_ key: String) -> Slot? {
        enter(key) ? Slot(limit: self, key: key) : nil
    }

    public final class Slot: Sendable {
        let limit: InFlightLimit
        let key: String

        init(limit: InFlightLimit, key: String) {
            self.limit = limit
            self.key = key
        }

        deinit { limit.leave(key) }
    }

    /// How many operations of `key` run now.
    public func count(_ key: String) -> Int {
        running.withLock { $0[key, default: 0] }
    }
}
