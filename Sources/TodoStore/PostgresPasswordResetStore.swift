import PostgresNIO
import TodoCore

/// Password resets as rows of `password_resets`, which every replica reads.
struct PostgresPasswordResetStore: PasswordResetStore {
    let database: PostgresDatabase

    func createPasswordReset(_ reset: PasswordReset) async throws -> Bool {
        try await database.write(
            """
            INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
            SELECT \(reset.tokenHash), id, \(reset.createdAt), \(reset.expiresAt) FROM users WHERE id = \(reset.userID) AND NOT disabled
            RETURNING user_id
            """,
            PostgresDatabase.hasRows)
    }

    func passwordResetAccount(tokenHash: String, at now: Timestamp) async throws -> UserID? {
        try await database.query(
            """
            SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id AND NOT u.disabled
            WHERE r.token_hash = \(tokenHash) AND r.expires_at > \(now)
            """, Self.firstID)
    }

    /// The reset's row is locked by the DELETE first: of two uses of one token at once, the
    /// second waits, then finds no row.
    func resetPassword(tokenHash: String, passwordHash: String, at now: Timestamp) async throws -> UserID? {
        try await database.transaction { connection, logger -> UserID? in
            let used = try await connection.query(
                "DELETE FROM password_resets WHERE token_hash = \(tokenHash) AND expires_at > \(now) RETURNING user_id", logger: logger)
            guard let account = try await Self.firstID(used) else { return nil }
            let changed = try await connection.query(
                "UPDATE users SET password_hash = \(passwordHash), email_proven = true WHERE id = \(account) AND NOT disabled RETURNING id",
                logger: logger)
            guard try await Self.firstID(changed) != nil else { throw PostgresDatabase.Rollback() }
            _ = try await connection.query("DELETE FROM sessions WHERE user_id = \(account)", logger: logger)
            _ = try await connection.query("DELETE FROM password_resets WHERE user_id = \(account)", logger: logger)
            return account
        } ?? nil
    }

    func prunePasswordResets(before now: Timestamp) async throws {
        _ = try await database.write("DELETE FROM password_resets WHERE expires_at <= \(now)", PostgresDatabase.hasRows)
    }

    @Sendable private static func firstID(_ rows: PostgresRowSequence) async throws -> UserID? {
        var first: UserID?
        for try await (id) in rows.decode(String.self) where first == nil { first = id }
        return first
    }
}
