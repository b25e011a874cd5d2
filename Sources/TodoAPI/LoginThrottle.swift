import Foundation
import TodoCore

/// Slows down password guessing: after `limit` failed log-ins for one account, or
/// `addressLimit` from one client address, within `window`, log-in answers 429 with
/// `Retry-After` until the window ends. A successful log-in clears the account's count.
/// The counts live in each process (with N replicas an attacker gets at most N times the budget).
actor LoginThrottle {
    struct Counter {
        var failures: Int
        var windowEnds: ContinuousClock.Instant
    }

    let limit: Int
    let addressLimit: Int
    let window: Duration
    private var accounts: [String: Counter] = [:]
    private var addresses: [String: Counter] = [:]
    static let maximumEntries = 100_000

    init(limit: Int = 10, addressLimit: Int = 50, window: Duration = .seconds(900)) {
        self.limit = limit
        self.addressLimit = addressLimit
        self.window = window
    }

    /// Seconds to wait before trying again, or nil when an attempt is allowed now.
    func retryAfter(email: String, address: String?) -> Int? {
        let now = ContinuousClock.now
        let waits = [Self.wait(accounts[email], limit: limit, now: now),
                     address.flatMap { Self.wait(addresses[$0], limit: addressLimit, now: now) }]
        return waits.compactMap { $0 }.max()
    }

    func recordFailure(email: String, address: String?) {
        let now = ContinuousClock.now
        if accounts.count > Self.maximumEntries || addresses.count > Self.maximumEntries { prune(now) }
        Self.count(&accounts, email, now: now, window: window)
        if let address { Self.count(&addresses, address, now: now, window: window) }
    }

    func recordSuccess(email: String) {
        accounts[email] = nil
    }

    private static func wait(_ counter: Counter?, limit: Int, now: ContinuousClock.Instant) -> Int? {
        guard let counter, counter.windowEnds > now, counter.failures >= limit else { return nil }
        return max(1, Int((counter.windowEnds - now).components.seconds) + 1)
    }

    private static func count(_ table: inout [String: Counter], _ key: String, now: ContinuousClock.Instant, window: Duration) {
        if let counter = table[key], counter.windowEnds > now {
            table[key]?.failures = counter.failures + 1
        } else {
            table[key] = Counter(failures: 1, windowEnds: now + window)
        }
    }

    private func prune(_ now: ContinuousClock.Instant) {
        accounts = accounts.filter { $0.value.windowEnds > now }
        addresses = addresses.filter { $0.value.windowEnds > now }
    }
}
