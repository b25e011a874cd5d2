import PostgresNIO
import TodoCore

/// Log-in sessions as rows of `sessions`, which every replica reads.
struct PostgresSessionStore: SessionStore {
    let database: PostgresDatabase

    func createSession(_ session: LoginSession) async throws {
        _ = try await database.write(
            """
            INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent)
            VALUES (\(session.id), \(session.userID), \(session.createdAt), \(session.lastUsedAt), \(session.expiresAt), \(session.userAgent))
            """,
            PostgresDatabase.hasRows)
    }

    func session(id: String, at now: Timestamp) async throws -> LoginSession? {
        try await database.query(
            """
            SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.user_agent
            FROM sessions s JOIN users u ON u.id = s.user_id AND NOT u.disabled WHERE s.id = \(id) AND s.expires_at > \(now)
            """, Self.sessions
        ).first
    }

    func sessions(userID: UserID, at now: Timestamp) async throws -> [LoginSession] {
        try await database.query(
            "SELECT id, user_id, created_at, last_used_at, expires_at, user_agent FROM sessions WHERE user_id = \(userID) AND expires_at > \(now) ORDER BY last_used_at DESC, id",
            Self.sessions)
    }

    func deleteSession(id: String, userID: UserID) async throws -> Bool {
        try await database.write("DELETE FROM sessions WHERE id = \(id) AND user_id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func deleteSessions(userID: UserID, keeping: String?) async throws {
        _ = try await database.write(
            "DELETE FROM sessions WHERE user_id = \(userID) AND id IS DISTINCT FROM \(keeping)", PostgresDatabase.hasRows)
    }

    func touchSession(id: String, at now: Timestamp) async throws {
        let recent = now.adding(milliseconds: -LoginSession.lastUseResolution.milliseconds)
        _ = try await database.write(
            "UPDATE sessions SET last_used_at = \(now) WHERE id = \(id) AND last_used_at <= \(recent)", PostgresDatabase.hasRows)
    }

    func pruneSessions(before now: Timestamp) async throws {
        _ = try await database.write("DELETE FROM sessions WHERE expires_at <= \(now)", PostgresDatabase.hasRows)
    }

    @Sendable private static func sessions(_ rows: PostgresRowSequence) async throws -> [LoginSession] {
        var sessions: [LoginSession] = []
        for try await (id, userID, created, lastUsed, expires, agent) in rows.decode((String, String, Timestamp, Timestamp, Timestamp, String?).self) {
            sessions.append(LoginSession(id: id, userID: userID, createdAt: created, lastUsedAt: lastUsed, expiresAt: expires, userAgent: agent))
        }
        return sessions
    }
}
