import SQLiteNIO
import Synchronization

/// Single-statement writes on SQLite's one writer connection, committed in groups. Writes that
/// arrive while a commit is being flushed to disk wait together and then share one transaction:
/// one fsync for the group instead of one each (creating tasks was bound by the disk, and every
/// other request queued behind it). A write is acknowledged only after its group's COMMIT.
final class SQLiteGroupCommit: Sendable {
    private struct Pending: Sendable {
        var sql: String
        var binds: [SQLiteData]
        var continuation: CheckedContinuation<[SQLiteRow], any Error>
    }

    private let writer: SQLiteConnection
    /// Shared with the repository's multi-statement transactions.
    private let lock: AsyncLock
    private let queue = Mutex<[Pending]>([])

    init(writer: SQLiteConnection, lock: AsyncLock) {
        self.writer = writer
        self.lock = lock
    }

    func write(_ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        try await withCheckedThrowingContinuation { continuation in
            let leads = queue.withLock { queue in
                queue.append(Pending(sql: sql, binds: binds, continuation: continuation))
                return queue.count == 1
            }
            // The first write of a group commits it; the others only wait for the result.
            if leads { Task { await self.commitQueued() } }
        }
    }

    private func commitQueued() async {
        await lock.withLock {
            var group = queue.withLock { queue in
                defer { queue.removeAll() }
                return queue
            }
            while !group.isEmpty {
                group = group.count == 1 ? await runAlone(group[0]) : await commitTogether(group)
            }
        }
    }

    private func runAlone(_ write: Pending) async -> [Pending] {
        do {
            write.continuation.resume(returning: try await writer.query(write.sql, write.binds))
        } catch {
            write.continuation.resume(throwing: error)
        }
        return []
    }

    /// Runs the group in one transaction and returns the writes it did not get to: a failing
    /// statement ends the group there (some errors roll the whole transaction back, so what ran
    /// before it is acknowledged only if COMMIT still succeeds), and the rest go in the next one.
    private func commitTogether(_ group: [Pending]) async -> [Pending] {
        do {
            _ = try await writer.query("BEGIN IMMEDIATE")
        } catch {
            for write in group { write.continuation.resume(throwing: error) }
            return []
        }
        var done: [(Pending, [SQLiteRow])] = []
        var failure: (Pending, any Error)?
        for write in group {
            do {
                done.append((write, try await writer.query(write.sql, write.binds)))
            } catch {
                failure = (write, error)
                break
            }
        }
        do {
            _ = try await writer.query("COMMIT")
            for (write, rows) in done { write.continuation.resume(returning: rows) }
        } catch {
            _ = try? await writer.query("ROLLBACK")
            for (write, _) in done { write.continuation.resume(throwing: error) }
        }
        if let (write, error) = failure { write.continuation.resume(throwing: error) }
        return Array(group.dropFirst(done.count + (failure == nil ? 0 : 1)))
    }
}
