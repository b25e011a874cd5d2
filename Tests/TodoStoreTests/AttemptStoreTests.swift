import Foundation
import Testing
import TodoCore
import TodoStore

/// The attempt counters behind the log-in and sign-up throttles, on every database: in memory on
/// SQLite, rows every replica shares on PostgreSQL. Each test uses its own keys; the database is
/// shared, so only `pruneAttempts` (which drops other keys too) uses times before everyone else's.
@Suite struct AttemptStoreTests {
    static let backends = Backend.available
    static let minute = Duration.seconds(60)

    static func newKey() -> String { "test:" + UUID().uuidString }

    @Test(arguments: backends)
    func countAttemptCountsOneByOneWithinTheWindow(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let key = Self.newKey()
            let start = Timestamp.now()
            for count in 1...5 {
                let window = try await storage.attempts.countAttempt(
                    key, window: Self.minute, at: start.adding(milliseconds: Int64(count - 1) * 1000))
                // The window is fixed by its first attempt: later ones do not extend it.
                #expect(window == AttemptWindow(count: count, endsAt: start.adding(milliseconds: 60_000)))
            }
        }
    }

    @Test(arguments: backends)
    func aNewWindowStartsOnceTheOldOneHasEnded(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let key = Self.newKey()
            let start = Timestamp.now()
            for _ in 1...3 { _ = try await storage.attempts.countAttempt(key, window: Self.minute, at: start) }
            let justBefore = try await storage.attempts.countAttempt(key, window: Self.minute, at: start.adding(milliseconds: 59_999))
            #expect(justBefore == AttemptWindow(count: 4, endsAt: start.adding(milliseconds: 60_000)))
            let atTheEnd = start.adding(milliseconds: 60_000)
            let next = try await storage.attempts.countAttempt(key, window: Self.minute, at: atTheEnd)
            #expect(next == AttemptWindow(count: 1, endsAt: atTheEnd.adding(milliseconds: 60_000)))
        }
    }

    @Test(arguments: backends)
    func forgetAttemptTakesOneBackButNeverGoesBelowZero(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let key = Self.newKey()
            let start = Timestamp.now()
            let ends = start.adding(milliseconds: 60_000)
            for _ in 1...3 { _ = try await storage.attempts.countAttempt(key, window: Self.minute, at: start) }
            try await storage.attempts.forgetAttempt(key)
            #expect(try await storage.attempts.countAttempt(key, window: Self.minute, at: start) == AttemptWindow(count: 3, endsAt: ends))
            for _ in 1...5 { try await storage.attempts.forgetAttempt(key) }
            // Down to zero, not below, and the window keeps its end.
            #expect(try await storage.attempts.countAttempt(key, window: Self.minute, at: start) == AttemptWindow(count: 1, endsAt: ends))
            // Forgetting a key that was never counted is no error and creates nothing.
            let unknown = Self.newKey()
            try await storage.attempts.forgetAttempt(unknown)
            #expect(try await storage.attempts.countAttempt(unknown, window: Self.minute, at: start).count == 1)
        }
    }

    @Test(arguments: backends)
    func clearAttemptsEndsThatKeysWindowOnly(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (key, other) = (Self.newKey(), Self.newKey())
            let start = Timestamp.now()
            for _ in 1...4 {
                _ = try await storage.attempts.countAttempt(key, window: Self.minute, at: start)
                _ = try await storage.attempts.countAttempt(other, window: Self.minute, at: start)
            }
            try await storage.attempts.clearAttempts(key)
            let later = start.adding(milliseconds: 5_000)
            #expect(try await storage.attempts.countAttempt(key, window: Self.minute, at: later)
                == AttemptWindow(count: 1, endsAt: later.adding(milliseconds: 60_000)))
            #expect(try await storage.attempts.countAttempt(other, window: Self.minute, at: later)
                == AttemptWindow(count: 5, endsAt: start.adding(milliseconds: 60_000)))
            try await storage.attempts.clearAttempts(Self.newKey())  // an unknown key: no error
        }
    }

    /// Times long past, so that pruning drops no other test's window (the database is shared).
    @Test(arguments: backends)
    func pruneAttemptsDropsWindowsThatEndedBeforeTheGivenTime(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (ended, endsAtPrune, open) = (Self.newKey(), Self.newKey(), Self.newKey())
            let start = time("2001-01-01T00:00:00Z")
            let prune = start.adding(milliseconds: 90_000)
            for _ in 1...3 {
                _ = try await storage.attempts.countAttempt(ended, window: Self.minute, at: start)  // ends at +60 s
                _ = try await storage.attempts.countAttempt(endsAtPrune, window: Self.minute, at: start.adding(milliseconds: 30_000))
                _ = try await storage.attempts.countAttempt(open, window: Self.minute, at: start.adding(milliseconds: 60_000))
            }
            try await storage.attempts.pruneAttempts(before: prune)
            // A dropped window is seen by counting inside its old span again: it starts over at 1.
            let inside = start.adding(milliseconds: 10_000)
            #expect(try await storage.attempts.countAttempt(ended, window: Self.minute, at: inside)
                == AttemptWindow(count: 1, endsAt: inside.adding(milliseconds: 60_000)))
            #expect(try await storage.attempts.countAttempt(endsAtPrune, window: Self.minute, at: start.adding(milliseconds: 40_000))
                == AttemptWindow(count: 4, endsAt: prune))
            #expect(try await storage.attempts.countAttempt(open, window: Self.minute, at: prune)
                == AttemptWindow(count: 4, endsAt: start.adding(milliseconds: 120_000)))
        }
    }

    /// What makes the throttles hold under a burst: concurrent attempts on one key never read
    /// the same count, so exactly `limit` of them are admitted.
    @Test(arguments: backends)
    func fiftyConcurrentAttemptsOnOneKeyGetFiftyDistinctCounts(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let key = Self.newKey()
            let now = Timestamp.now()
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await storage.attempts.countAttempt(key, window: Self.minute, at: now).count }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(counts.sorted() == Array(1...50))
        }
    }
}
