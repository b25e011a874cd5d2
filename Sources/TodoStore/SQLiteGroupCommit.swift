import SQLiteNIO

/// Single-statement writes on SQLite's one writer connection, committed in groups
/// (`WriteGroups`): creating tasks was bound by the disk's fsync, and every other request
/// queued behind it. A write is acknowledged only after its group's COMMIT.
struct SQLiteGroupCommit: Sendable {
    private typealias Write = WriteGroups<(sql: String, binds: [SQLiteData]), [SQLiteRow]>.Write

    private let groups: WriteGroups<(sql: String, binds: [SQLiteData]), [SQLiteRow]>

    /// `lock` is shared with the repository's multi-statement transactions.
    init(writer: SQLiteConnection, lock: AsyncLock) {
        groups = WriteGroups(lock: lock) { group in
            var rest = group[...]
            while !rest.isEmpty {
                rest = rest.count == 1 ? await Self.runAlone(rest.first!, on: writer) : await Self.commitTogether(rest, on: writer)
            }
        }
    }

    func write(_ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        try await groups.write((sql, binds))
    }

    private static func runAlone(_ write: Write, on writer: SQLiteConnection) async -> ArraySlice<Write> {
        do {
            write.succeed(try await writer.query(write.input.sql, write.input.binds))
        } catch {
            write.fail(error)
        }
        return []
    }

    /// Runs the group in one transaction and returns the writes it did not get to: a failing
    /// statement ends the group there (some errors roll the whole transaction back, so what ran
    /// before it is acknowledged only if COMMIT still succeeds), and the rest go in the next one.
    private static func commitTogether(_ group: ArraySlice<Write>, on writer: SQLiteConnection) async -> ArraySlice<Write> {
        do {
            _ = try await writer.query("BEGIN IMMEDIATE")
        } catch {
            for write in group { write.fail(error) }
            return []
        }
        var done: [(Write, [SQLiteRow])] = []
        var failure: (Write, any Error)?
        for write in group {
            do {
                done.append((write, try await writer.query(write.input.sql, write.input.binds)))
            } catch {
                failure = (write, error)
                break
            }
        }
        do {
            _ = try await writer.query("COMMIT")
            for (write, rows) in done { write.succeed(rows) }
        } catch {
            _ = try? await writer.query("ROLLBACK")
            for (write, _) in done { write.fail(error) }
        }
        if let (write, error) = failure { write.fail(error) }
        return group.dropFirst(done.count + (failure == nil ? 0 : 1))
    }
}
