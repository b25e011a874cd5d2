import PostgresNIO
import TodoCore

/// Accounts and personal tokens on PostgreSQL.
struct PostgresAccountStore: AccountStore {
    let database: PostgresDatabase

    func createUser(_ user: User, passwordHash: String) async throws -> User? {
        let created = try await database.write(
            """
            INSERT INTO users (id, email, password_hash, created_at, name)
            VALUES (\(user.id), \(user.email), \(passwordHash), \(user.createdAt), \(user.name))
            ON CONFLICT (email) DO NOTHING RETURNING id
            """,
            PostgresDatabase.hasRows)
        return created ? user : nil
    }

    func credentials(email: String) async throws -> StoredCredentials? {
        try await database.query("SELECT id, email, name, created_at, password_hash FROM users WHERE email = \(email)") { rows in
            for try await (id, email, name, created, hash) in rows.decode((String, String, String?, Timestamp, String).self) {
                return StoredCredentials(user: User(id: id, email: email, name: name, createdAt: created), passwordHash: hash)
            }
            return nil
        }
    }

    func user(id: UserID) async throws -> User? {
        try await database.query("SELECT id, email, name, created_at FROM users WHERE id = \(id)") { rows in
            for try await (id, email, name, created) in rows.decode((String, String, String?, Timestamp).self) {
                return User(id: id, email: email, name: name, createdAt: created)
            }
            return nil
        }
    }

    func createToken(_ token: PersonalToken, secretHash: String) async throws {
        _ = try await database.write(
            """
            INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at)
            VALUES (\(token.id), \(token.userID), \(token.name), \(secretHash), \(token.createdAt), \(token.expiresAt))
            """,
            PostgresDatabase.hasRows)
    }

    func tokens(userID: UserID) async throws -> [PersonalToken] {
        try await database.query(
            "SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens WHERE user_id = \(userID) ORDER BY created_at, id",
            Self.tokens)
    }

    func deleteToken(id: String, userID: UserID) async throws -> Bool {
        try await database.write("DELETE FROM api_tokens WHERE id = \(id) AND user_id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func token(secretHash: String) async throws -> PersonalToken? {
        try await database.query(
            "SELECT id, user_id, name, created_at, expires_at, last_used_at FROM api_tokens WHERE token_hash = \(secretHash)",
            Self.tokens
        ).first
    }

    func touchToken(id: String, at now: Timestamp) async throws {
        let recent = now.adding(milliseconds: -PersonalToken.lastUseResolution.milliseconds)
        _ = try await database.query(
            "UPDATE api_tokens SET last_used_at = \(now) WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at <= \(recent))",
            PostgresDatabase.hasRows)
    }

    @Sendable private static func tokens(_ rows: PostgresRowSequence) async throws -> [PersonalToken] {
        var tokens: [PersonalToken] = []
        for try await (id, userID, name, created, expires, lastUsed) in rows.decode((String, String, String, Timestamp, Timestamp?, Timestamp?).self) {
            tokens.append(PersonalToken(id: id, userID: userID, name: name, createdAt: created, expiresAt: expires, lastUsedAt: lastUsed))
        }
        return tokens
    }
}
