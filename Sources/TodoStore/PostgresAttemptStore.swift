import PostgresNIO
import TodoCore

/// Attempt windows as rows of `attempts`, shared by every replica. One statement counts an
/// attempt (an upsert, atomic per key), so parallel attempts through several replicas each get
/// their own count.
struct PostgresAttemptStore: AttemptStore {
    let database: PostgresDatabase

    func countAttempt(_ key: String, window length: Duration, at now: Timestamp) async throws -> AttemptWindow {
        let ends = now.adding(milliseconds: Int64(length.components.seconds) * 1000)
        return try await database.write(
            """
            INSERT INTO attempts (key, count, window_ends) VALUES (\(key), 1, \(ends))
            ON CONFLICT (key) DO UPDATE SET
                count = CASE WHEN attempts.window_ends > \(now) THEN attempts.count + 1 ELSE 1 END,
                window_ends = CASE WHEN attempts.window_ends > \(now) THEN attempts.window_ends ELSE \(ends) END
            RETURNING count, window_ends
            """
        ) { rows in
            for try await (count, endsAt) in rows.decode((Int32, Timestamp).self) {
                return AttemptWindow(count: Int(count), endsAt: endsAt)
            }
            throw StoreError.invalid("counting an attempt returned no row")
        }
    }

    func forgetAttempt(_ key: String) async throws {
        _ = try await database.write("UPDATE attempts SET count = count - 1 WHERE key = \(key) AND count > 0", PostgresDatabase.hasRows)
    }

    func clearAttempts(_ key: String) async throws {
        _ = try await database.write("DELETE FROM attempts WHERE key = \(key)", PostgresDatabase.hasRows)
    }

    func pruneAttempts(before time: Timestamp) async throws {
        _ = try await database.write("DELETE FROM attempts WHERE window_ends < \(time)", PostgresDatabase.hasRows)
    }
}
