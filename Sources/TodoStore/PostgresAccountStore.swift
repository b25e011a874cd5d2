import PostgresNIO
import TodoCore

/// Accounts and personal tokens on PostgreSQL.
struct PostgresAccountStore: AccountStore {
    let database: PostgresDatabase

    /// The invitation goes first: an unknown one changes nothing, and a valid one is used up even
    /// when the e-mail turns out to be taken (its account exists already).
    func createUser(_ user: User, passwordHash: String, admin: AdminGrant, invitation: InvitationProof?, addressProven: Bool) async throws
        -> AccountCreation
    {
        try await database.transaction { connection, logger -> AccountCreation in
            if let invitation {
                let tokenHash = invitation.tokenHash
                let used = try await connection.query(
                    """
                    DELETE FROM signup_invitations
                    WHERE email = \(user.email) AND expires_at > \(user.createdAt) AND (\(tokenHash)::text IS NULL OR token_hash = \(tokenHash))
                    RETURNING email
                    """, logger: logger)
                guard try await PostgresDatabase.hasRows(used) else { return .invitationInvalid }
            }
            let rows = try await connection.query(
                """
                INSERT INTO users (id, email, password_hash, created_at, name, admin, email_proven)
                SELECT \(user.id), \(user.email), \(passwordHash), \(user.createdAt), \(user.name), granted.admin, \(addressProven) OR granted.admin
                FROM (SELECT \(admin == .yes) OR (\(admin == .ifFirstAccount) AND NOT EXISTS (SELECT 1 FROM users)) AS admin) granted
                ON CONFLICT (email) DO NOTHING RETURNING admin
                """, logger: logger)
            for try await isAdmin in rows.decode(Bool.self) {
                var created = user
                created.admin = isAdmin
                return .created(created)
            }
            return .emailTaken
        } ?? .emailTaken
    }

    func credentials(email: String) async throws -> StoredCredentials? {
        try await database.query("SELECT id, email, name, created_at, admin, password_hash, disabled FROM users WHERE email = \(email)") { rows in
            for try await (id, email, name, created, admin, hash, disabled) in rows.decode((String, String, String?, Timestamp, Bool, String, Bool).self) {
                return StoredCredentials(user: User(id: id, email: email, name: name, createdAt: created, admin: admin), passwordHash: hash, disabled: disabled)
            }
            return nil
        }
    }

    func user(id: UserID) async throws -> User? {
        try await database.query("SELECT id, email, name, created_at, admin FROM users WHERE id = \(id)") { rows in
            for try await (id, email, name, created, admin) in rows.decode((String, String, String?, Timestamp, Bool).self) {
                return User(id: id, email: email, name: name, createdAt: created, admin: admin)
            }
            return nil
        }
    }

    /// Locks the user's row first (FOR NO KEY UPDATE: foreign-key checks do not wait for it), so
    /// that the insert, a statement of its own and so with a snapshot taken after the lock, counts
    /// every token committed before it. In one statement the count would come from a snapshot taken
    /// before the wait: under READ COMMITTED a burst of creations would each count the same tokens.
    func createToken(_ token: PersonalToken, secretHash: String, limit: Int) async throws -> Bool {
        let outcome = try await database.transaction { connection, logger -> Result<Bool, QuotaReached> in
            let user = try await connection.query("SELECT 1 FROM users WHERE id = \(token.userID) FOR NO KEY UPDATE", logger: logger)
            guard try await PostgresDatabase.hasRows(user) else { return .success(false) }
            let inserted = try await connection.query(
                """
                INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at)
                SELECT \(token.id), \(token.userID), \(token.name), \(secretHash), \(token.createdAt), \(token.expiresAt)::timestamptz
                WHERE (SELECT count(*) FROM api_tokens WHERE user_id = \(token.userID)) < \(limit)
                RETURNING id
                """,
                logger: logger)
            return try await PostgresDatabase.hasRows(inserted) ? .success(true) : .failure(QuotaReached(.personalTokens, limit: limit))
        }
        return try outcome?.get() ?? false
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
            """
            SELECT t.id, t.user_id, t.name, t.created_at, t.expires_at, t.last_used_at
            FROM api_tokens t JOIN users u ON u.id = t.user_id AND NOT u.disabled WHERE t.token_hash = \(secretHash)
            """,
            Self.tokens
        ).first
    }

    func touchToken(id: String, at now: Timestamp) async throws {
        let recent = now.adding(milliseconds: -PersonalToken.lastUseResolution.milliseconds)
        _ = try await database.query(
            "UPDATE api_tokens SET last_used_at = \(now) WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at <= \(recent))",
            PostgresDatabase.hasRows)
    }

    func allUsers() async throws -> [Account] {
        try await database.query("SELECT id, email, name, created_at, admin, disabled FROM users ORDER BY created_at, id") { rows in
            var accounts: [Account] = []
            for try await (id, email, name, created, admin, disabled) in rows.decode((String, String, String?, Timestamp, Bool, Bool).self) {
                accounts.append(Account(user: User(id: id, email: email, name: name, createdAt: created, admin: admin), disabled: disabled))
            }
            return accounts
        }
    }

    func changePassword(userID: UserID, hash: String, keepingSession: String?, revokingTokens: Bool) async throws -> Bool {
        try await database.transaction { connection, logger -> Bool in
            let changed = try await connection.query("UPDATE users SET password_hash = \(hash) WHERE id = \(userID) RETURNING id", logger: logger)
            guard try await PostgresDatabase.hasRows(changed) else { return false }
            _ = try await connection.query(
                "DELETE FROM sessions WHERE user_id = \(userID) AND id IS DISTINCT FROM \(keepingSession)", logger: logger)
            _ = try await connection.query("DELETE FROM password_resets WHERE user_id = \(userID)", logger: logger)
            if revokingTokens { _ = try await connection.query("DELETE FROM api_tokens WHERE user_id = \(userID)", logger: logger) }
            return true
        } ?? false
    }

    func setDisabled(_ disabled: Bool, userID: UserID) async throws -> Bool {
        try await database.write("UPDATE users SET disabled = \(disabled) WHERE id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func setAdmin(_ admin: Bool, userID: UserID) async throws -> Bool {
        try await database.write("UPDATE users SET admin = \(admin) WHERE id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func calendarFeedGeneration(userID: UserID) async throws -> Int? {
        try await database.query("SELECT feed_generation FROM users WHERE id = \(userID) AND NOT disabled") { rows in
            for try await generation in rows.decode(Int.self) { return generation }
            return nil
        }
    }

    func revokeCalendarFeed(userID: UserID) async throws -> Bool {
        try await database.write("UPDATE users SET feed_generation = feed_generation + 1 WHERE id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func createInvitation(_ invitation: SignUpInvitation, tokenHash: String) async throws {
        _ = try await database.write(
            """
            INSERT INTO signup_invitations (email, token_hash, invited_by, created_at, expires_at)
            VALUES (\(invitation.email), \(tokenHash), \(invitation.invitedBy), \(invitation.createdAt), \(invitation.expiresAt))
            ON CONFLICT (email) DO UPDATE SET token_hash = EXCLUDED.token_hash, invited_by = EXCLUDED.invited_by,
                created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
            """,
            PostgresDatabase.hasRows)
    }

    func pruneInvitations(before now: Timestamp) async throws {
        _ = try await database.write("DELETE FROM signup_invitations WHERE expires_at <= \(now)", PostgresDatabase.hasRows)
    }

    /// The tasks are deleted first, then the row, and tokens, sessions, resets and conversations with it
    /// (ON DELETE CASCADE); the events, which outlive their tasks, including those deleting them
    /// records, are deleted last. Tasks before the row: deleting or completing one task locks its
    /// row and then the user's (its task count), so taking them in the same order, an account
    /// deleted while one of its tasks changes cannot deadlock with that change.
    func deleteUser(id: UserID) async throws -> Bool {
        try await database.transaction { connection, logger -> Bool in
            _ = try await connection.query("DELETE FROM tasks WHERE user_id = \(id)", logger: logger)
            guard try await PostgresDatabase.hasRows(try await connection.query("DELETE FROM users WHERE id = \(id) RETURNING id", logger: logger))
            else { return false }
            _ = try await connection.query("DELETE FROM events WHERE user_id = \(id)", logger: logger)
            return true
        } ?? false
    }

    func account(linkedTo identity: ExternalIdentity) async throws -> Account? {
        try await database.query(
            """
            SELECT u.id, u.email, u.name, u.created_at, u.disabled FROM identities i JOIN users u ON u.id = i.user_id
            WHERE i.issuer = \(identity.issuer) AND i.subject = \(identity.subject)
            """
        ) { rows in
            for try await (id, email, name, created, disabled) in rows.decode((String, String, String?, Timestamp, Bool).self) {
                return Account(user: User(id: id, email: email, name: name, createdAt: created), disabled: disabled)
            }
            return nil
        }
    }

    func link(_ identity: ExternalIdentity, to userID: UserID, at now: Timestamp) async throws -> Bool {
        _ = try await database.write(
            """
            INSERT INTO identities (issuer, subject, user_id, created_at)
            SELECT \(identity.issuer), \(identity.subject), id, \(now) FROM users WHERE id = \(userID)
            ON CONFLICT (issuer, subject) DO NOTHING
            """,
            PostgresDatabase.hasRows)
        return try await user(id: userID) != nil
    }

    @Sendable private static func tokens(_ rows: PostgresRowSequence) async throws -> [PersonalToken] {
        var tokens: [PersonalToken] = []
        for try await (id, userID, name, created, expires, lastUsed) in rows.decode((String, String, String, Timestamp, Timestamp?, Timestamp?).self) {
            tokens.append(PersonalToken(id: id, userID: userID, name: name, createdAt: created, expiresAt: expires, lastUsedAt: lastUsed))
        }
        return tokens
    }
}
