import Logging
import SQLiteNIO
import TodoCore

/// Migrations and reachability on SQLite.
struct SQLiteSchemaStore: SchemaStore {
    let database: SQLiteDatabase

    func migrate(logger: Logger) async throws {
        let writer = database.writer
        try await StoreError.translating {
            try await database.writeLock.withLock { try await Self.migrate(writer, logger: logger) }
        }
    }

    private static func migrate(_ writer: SQLiteConnection, logger: Logger) async throws {
        _ = try await writer.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
        for migration in Migrations.sqlite {
            // BEGIN IMMEDIATE takes the write lock, so a second process waits here and then skips.
            _ = try await writer.query("BEGIN IMMEDIATE")
            do {
                let applied = try await writer.query("SELECT 1 FROM schema_migrations WHERE version = ?1", [.integer(migration.version)])
                if applied.isEmpty {
                    for statement in migration.statements { _ = try await writer.query(statement) }
                    _ = try await writer.query(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                        [.integer(migration.version), .text(migration.name), .integer(Int(Timestamp.now().millisecondsSinceEpoch))])
                    logger.info("applied migration", metadata: ["version": .stringConvertible(migration.version), "name": "\(migration.name)"])
                }
                _ = try await writer.query("COMMIT")
            } catch {
                _ = try? await writer.query("ROLLBACK")
                throw error
            }
        }
    }

    func appliedSchemaVersion() async throws -> Int {
        let exists = try await database.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard !exists.isEmpty else { return 0 }
        let rows = try await database.read("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        return rows.first?.column("version")?.integer ?? 0
    }

    func ping() async throws {
        _ = try await database.read("SELECT 1")
    }
}
