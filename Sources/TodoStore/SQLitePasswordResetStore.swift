import SQLiteNIO
import TodoCore

/// Password resets on SQLite.
struct SQLitePasswordResetStore: PasswordResetStore {
    let database: SQLiteDatabase

    func createPasswordReset(_ reset: PasswordReset) async throws -> Bool {
        try await !database.write(
            """
            INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
            SELECT ?1, id, ?3, ?4 FROM users WHERE id = ?2 AND NOT disabled RETURNING user_id
            """,
            [.text(reset.tokenHash), .text(reset.userID), SQLiteDatabase.time(reset.createdAt), SQLiteDatabase.time(reset.expiresAt)]
        ).isEmpty
    }

    func passwordResetAccount(tokenHash: String, at now: Timestamp) async throws -> UserID? {
        try await database.read(
            """
            SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id AND NOT u.disabled
            WHERE r.token_hash = ?1 AND r.expires_at > ?2
            """, [.text(tokenHash), SQLiteDatabase.time(now)]
        ).first?.column("user_id")?.string
    }

    func resetPassword(tokenHash: String, passwordHash: String, at now: Timestamp) async throws -> UserID? {
        try await database.transaction { connection -> UserID? in
            guard let userID = try await connection.query(
                """
                UPDATE users SET password_hash = ?2, email_proven = 1 WHERE NOT disabled AND id =
                    (SELECT user_id FROM password_resets WHERE token_hash = ?1 AND expires_at > ?3)
                RETURNING id
                """, [.text(tokenHash), .text(passwordHash), SQLiteDatabase.time(now)]
            ).first?.column("id")?.string else { return nil }
            _ = try await connection.query("DELETE FROM sessions WHERE user_id = ?1", [.text(userID)])
            _ = try await connection.query("DELETE FROM password_resets WHERE user_id = ?1", [.text(userID)])
            return userID
        } ?? nil
    }

    func prunePasswordResets(before now: Timestamp) async throws {
        _ = try await database.write("DELETE FROM password_resets WHERE expires_at <= ?1", [SQLiteDatabase.time(now)])
    }
}
