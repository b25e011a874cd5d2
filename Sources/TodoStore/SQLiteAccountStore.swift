import SQLiteNIO
import TodoCore

/// Accounts and personal tokens on SQLite.
struct SQLiteAccountStore: AccountStore {
    let database: SQLiteDatabase

    /// The invitation goes first: an unknown one changes nothing, and a valid one is used up even
    /// when the e-mail turns out to be taken (its account exists already).
    func createUser(_ user: User, passwordHash: String, admin: AdminGrant, invitation: InvitationProof?, addressProven: Bool) async throws
        -> AccountCreation
    {
        try await database.transaction { connection -> AccountCreation in
            if let invitation {
                let used = try await connection.query(
                    "DELETE FROM signup_invitations WHERE email = ?2 AND expires_at > ?3 AND (?1 IS NULL OR token_hash = ?1) RETURNING email",
                    [invitation.tokenHash.map(SQLiteData.text) ?? .null, .text(user.email), SQLiteDatabase.time(user.createdAt)])
                guard !used.isEmpty else { return .invitationInvalid }
            }
            let rows = try await connection.query(
                """
                INSERT INTO users (id, email, name, password_hash, created_at, admin, email_proven)
                SELECT ?1, ?2, ?3, ?4, ?5, granted.admin, ?8 OR granted.admin
                FROM (SELECT ?6 OR (?7 AND NOT EXISTS (SELECT 1 FROM users)) AS admin) granted
                WHERE true ON CONFLICT (email) DO NOTHING RETURNING admin
                """,
                [.text(user.id), .text(user.email), user.name.map(SQLiteData.text) ?? .null, .text(passwordHash),
                 SQLiteDatabase.time(user.createdAt), .integer(admin == .yes ? 1 : 0), .integer(admin == .ifFirstAccount ? 1 : 0),
                 .integer(addressProven ? 1 : 0)])
            guard let row = rows.first else { return .emailTaken }
            var created = user
            created.admin = row.column("admin")?.bool ?? false
            return .created(created)
        } ?? .emailTaken
    }

    func credentials(email: String) async throws -> StoredCredentials? {
        let rows = try await database.read(
            "SELECT id, email, name, password_hash, created_at, admin, disabled FROM users WHERE email = ?1", [.text(email)])
        guard let row = rows.first, let hash = row.column("password_hash")?.string else { return nil }
        return StoredCredentials(user: try Self.user(row), passwordHash: hash, disabled: row.column("disabled")?.bool ?? false)
    }

    func user(id: UserID) async throws -> User? {
        try await database.read("SELECT id, email, name, created_at, admin FROM users WHERE id = ?1", [.text(id)]).first.map(Self.user)
    }

    private static func user(_ row: SQLiteRow) throws -> User {
        guard let id = row.column("id")?.string, let email = row.column("email")?.string,
              let created = SQLiteDatabase.time(row.column("created_at"))
        else { throw StoreError.invalid("malformed users row") }
        return User(id: id, email: email, name: row.column("name")?.string, createdAt: created, admin: row.column("admin")?.bool ?? false)
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
        try await database.read("SELECT id, email, name, created_at, admin, disabled FROM users ORDER BY created_at, id").map { row in
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

    func setAdmin(_ admin: Bool, userID: UserID) async throws -> Bool {
        try await !database.write("UPDATE users SET admin = ?1 WHERE id = ?2 RETURNING id", [.integer(admin ? 1 : 0), .text(userID)]).isEmpty
    }

    func calendarFeedGeneration(userID: UserID) async throws -> Int? {
        let rows = try await database.read("SELECT feed_generation FROM users WHERE id = ?1 AND disabled = 0", [.text(userID)])
        return rows.first?.column("feed_generation")?.integer
    }

    func revokeCalendarFeed(userID: UserID) async throws -> Bool {
        try await !database.write("UPDATE users SET feed_generation = feed_generation + 1 WHERE id = ?1 RETURNING id", [.text(userID)]).isEmpty
    }

    func createInvitation(_ invitation: SignUpInvitation, tokenHash: String) async throws {
        _ = try await database.write(
            """
            INSERT INTO signup_invitations (email, token_hash, invited_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (email) DO UPDATE SET token_hash = excluded.token_hash, invited_by = excluded.invited_by,
                created_at = excluded.created_at, expires_at = excluded.expires_at
            """,
            [.text(invitation.email), .text(tokenHash), invitation.invitedBy.map(SQLiteData.text) ?? .null,
             SQLiteDatabase.time(invitation.createdAt), SQLiteDatabase.time(invitation.expiresAt)])
    }

    func pruneInvitations(before now: Timestamp) async throws {
        _ = try await database.write("DELETE FROM signup_invitations WHERE expires_at <= ?1", [SQLiteDatabase.time(now)])
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

    func account(linkedTo identity: ExternalIdentity) async throws -> Account? {
        try await database.read(
            """
            SELECT u.id, u.email, u.name, u.created_at, u.disabled FROM identities i JOIN users u ON u.id = i.user_id
            WHERE i.issuer = ?1 AND i.subject = ?2
            """, [.text(identity.issuer), .text(identity.subject)]
        ).first.map { row in Account(user: try Self.user(row), disabled: row.column("disabled")?.bool ?? false) }
    }

    func link(_ identity: ExternalIdentity, to userID: UserID, at now: Timestamp) async throws -> Bool {
        _ = try await database.write(
            """
            INSERT INTO identities (issuer, subject, user_id, created_at) SELECT ?1, ?2, id, ?4 FROM users WHERE id = ?3
            ON CONFLICT (issuer, subject) DO NOTHING
            """, [.text(identity.issuer), .text(identity.subject), .text(userID), SQLiteDatabase.time(now)])
        return try await user(id: userID) != nil
    }

    private static func token(_ row: SQLiteRow) throws -> PersonalToken {
        guard let id = row.column("id")?.string, let userID = row.column("user_id")?.string,
              let name = row.column("name")?.string, let created = SQLiteDatabase.time(row.column("created_at"))
        else { throw StoreError.invalid("malformed api_tokens row") }
        return PersonalToken(id: id, userID: userID, name: name, createdAt: created,
                             expiresAt: SQLiteDatabase.time(row.column("expires_at")), lastUsedAt: SQLiteDatabase.time(row.column("last_used_at")))
    }
}
