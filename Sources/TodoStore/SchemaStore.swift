import Logging

/// The database's schema and reachability.
public protocol SchemaStore: Sendable {
    /// Applies pending migrations. Safe when several processes call it at once.
    func migrate(logger: Logger) async throws
    /// The newest migration applied to the database, 0 for an empty database.
    func appliedSchemaVersion() async throws -> Int
    /// Fails when the database cannot answer.
    func ping() async throws
}

/// The schema version this build expects; readiness waits until the database has it.
public enum Schema {
    public static var latestVersion: Int { Migrations.postgres.last?.version ?? 0 }
}
