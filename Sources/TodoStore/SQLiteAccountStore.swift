import SQLiteNIO
import TodoCore

/// Accounts and personal tokens on SQLite.
struct SQLiteAccountStore: AccountStore {
    let database: SQLiteDatabase

    func createUser(_ user: User, passwordHash: String) async throws -> User? {
        let rows = try await database.write(
            """
            INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (email) DO NOTHING RETURNING id
            """,
            [.text(user.id), .text(user.email), user.name.map(SQLiteData.text) ?? .null, .text(passwordHash),
             SQLiteDatabase.time(user.createdAt)])
        return rows.isEmpty ? nil : user
    }

    func credentials(email: String) async throws -> StoredCredentials? {
        let rows = try await database.read(
            "SELECT id, email, name, password_hash, created_at, disabled FROM users WHERE email = ?1", [.text(email)])
        guard let row = rows.first, let hash = row.column("password_hash")?.string else { return nil }
        return StoredCredentials(user: try Self.user(row), passwordHash: hash, disabled: row.column("disabled")?.bool ?? false)
    }

    func user(id: UserID) async throws -> User? {
        try await database.read("SELECT id, email, name, created_at FROM users WHERE id = ?1", [.text(id)]).first.map(Self.user)
    }

    private static func user(_ row: SQLiteRow) throws -> User {
        guard let id = row.column("id")?.string, let email = row.column("email")?.string,
              let created = SQLiteDatabase.time(row.column("created_at"))
        else { throw StoreError.invalid("malformed users row") }
        return User(id: id, email: email, name: row.column("name")?.string, createdAt: created)
    }

    /// One statement counts and inserts; SQLite's one writer runs statements one after another.
    func createToken(_ token: PersonalToken, secretHash: String, limit: Int) async throws -> Bool {
        let rows = try await database.write(
            """
            INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at)
            SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM users
            WHERE users.id = ?2 AND (SELECT count(*) FROM api_tokens WHERE user_id = ?2) < ?7
            RETURNING id
            """,
            [.text(token.id), .text(token.userID), .text(token.name), .text(secretHash), SQLiteDatabase.time(token.createdAt),
             SQLiteDatabase.time(token.expiresAt), .integer(limit)])
        guard rows.isEmpty else { return true }
        guard try await user(id: token.userID) != nil else { return false }
        throw QuotaReached(.personalTokens, limit: limit)
    }

    func tokens(userID: UserID) async throws -> [PersonalToken] {
        try await database.read(
            "SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens WHERE user_id = ?1 ORDER BY created_at, id",
            [.text(userID)]
        ).map(Self.token)
    }

    func deleteToken(id: String, userID: UserID) async throws -> Bool {
        try await !database.write("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2 RETURNING id", [.text(id), .text(userID)]).isEmpty
    }

    func token(secretHash: String) async throws -> PersonalToken? {
        try await database.read(
            """
            SELECT t.id, t.user_id, t.name, t.created_at, t.expires_at, t.last_used_at
            FROM api_tokens t JOIN users u ON u.id = t.user_id AND NOT u.disabled WHERE t.token_hash = ?1
            """, [.text(secretHash)]
        ).first.map(Self.token)
    }

    func touchToken(id: String, at now: Timestamp) async throws {
        let recent = now.adding(milliseconds: -PersonalToken.lastUseResolution.milliseconds)
        _ = try await database.write(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?3)",
            [.text(id), SQLiteDatabase.time(now), SQLiteDatabase.time(recent)])
    }

    func allUsers() async throws -> [Account] {
        try await database.read("SELECT id, email, name, created_at, disabled FROM users ORDER BY created_at, id").map { row in
            Account(user: try Self.user(row), disabled: row.column("disabled")?.bool ?? false)
        }
    }

    func changePassword(userID: UserID, hash: String, keepingSession: String?, revokingTokens: Bool) async throws -> Bool {
        try await database.transaction { connection -> Bool in
            guard try await !connection.query("UPDATE users SET password_hash = ?1 WHERE id = ?2 RETURNING id", [.text(hash), .text(userID)]).isEmpty
            else { return false }
            _ = try await connection.query(
                "DELETE FROM sessions WHERE user_id = ?1 AND id IS NOT ?2", [.text(userID), keepingSession.map(SQLiteData.text) ?? .null])
            _ = try await connection.query("DELETE FROM password_resets WHERE user_id = ?1", [.text(userID)])
            if revokingTokens { _ = try await connection.query("DELETE FROM api_tokens WHERE user_id = ?1", [.text(userID)]) }
            return true
        } ?? false
    }

    func setDisabled(_ disabled: Bool, userID: UserID) async throws -> Bool {
        try await !database.write("UPDATE users SET disabled = ?1 WHERE id = ?2 RETURNING id", [.integer(disabled ? 1 : 0), .text(userID)]).isEmpty
    }

    /// Tasks, tokens, sessions, password resets and conversations go with the row (ON DELETE CASCADE); the events,
    /// which outlive their tasks, including those the cascade itself records, are deleted after it.
    func deleteUser(id: UserID) async throws -> Bool {
        try await database.transaction { connection -> Bool in
            guard try await !connection.query("DELETE FROM users WHERE id = ?1 RETURNING id", [.text(id)]).isEmpty else { return false }
            _ = try await connection.query("DELETE FROM events WHERE user_id = ?1", [.text(id)])
            return true
        } ?? false
    }

    private static func token(_ row: SQLiteRow) throws -> PersonalToken {
        guard let id = row.column("id")?.string, let userID = row.column("user_id")?.string,
              let name = row.column("name")?.string, let created = SQLiteDatabase.time(row.column("created_at"))
        else { throw StoreError.invalid("malformed api_tokens row") }
        return PersonalToken(id: id, userID: userID, name: name, createdAt: created,
                             expiresAt: SQLiteDatabase.time(row.column("expires_at")), lastUsedAt: SQLiteDatabase.time(row.column("last_used_at")))
    }
}
