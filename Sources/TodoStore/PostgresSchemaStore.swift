import Logging
import PostgresNIO

/// Migrations and reachability on PostgreSQL.
struct PostgresSchemaStore: SchemaStore {
    let database: PostgresDatabase

    /// An arbitrary constant shared by every replica: the key of the migration advisory lock.
    private static let migrationLockKey: Int64 = 7_226_871_104_113

    func migrate(logger: Logger) async throws {
        let client = database.client
        try await StoreError.translating {
            try await PostgresDatabase.lease(from: client, observer: database.poolObserver) { connection in
                // A session-level advisory lock: replicas starting together apply each migration once.
                _ = try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: logger)
                do {
                    try await Self.applyPending(on: connection, logger: logger)
                    _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                    throw error
                }
            }
        }
    }

    private static func applyPending(on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
            logger: logger)
        var applied: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int32.self) { applied.insert(Int(version)) }
        for migration in Migrations.postgres where !applied.contains(migration.version) {
            _ = try await connection.query("BEGIN", logger: logger)
            do {
                // Migration texts are fixed strings of this build, never made from values.
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(Int32(migration.version)), \(migration.name))",
                    logger: logger)
                _ = try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            logger.info("applied migration", metadata: ["version": .stringConvertible(migration.version), "name": "\(migration.name)"])
        }
    }

    func appliedSchemaVersion() async throws -> Int {
        try await database.query(
            "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE (SELECT COALESCE(MAX(version), 0) FROM schema_migrations) END"
        ) { rows in
            for try await version in rows.decode(Int32.self) { return Int(version) }
            return 0
        }
    }

    func ping() async throws {
        _ = try await database.query("SELECT 1", PostgresDatabase.hasRows)
    }
}
