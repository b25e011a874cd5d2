import SQLiteNIO
import TodoCore

/// Log-in sessions on SQLite.
struct SQLiteSessionStore: SessionStore {
    let database: SQLiteDatabase

    private static let columns = "id, user_id, created_at, last_used_at, expires_at, user_agent"

    func createSession(_ session: LoginSession) async throws {
        _ = try await database.write(
            "INSERT INTO sessions (\(Self.columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            [.text(session.id), .text(session.userID), SQLiteDatabase.time(session.createdAt), SQLiteDatabase.time(session.lastUsedAt),
             SQLiteDatabase.time(session.expiresAt), session.userAgent.map(SQLiteData.text) ?? .null])
    }

    func session(id: String, at now: Timestamp) async throws -> LoginSession? {
        try await database.read(
            """
            SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.user_agent
            FROM sessions s JOIN users u ON u.id = s.user_id AND NOT u.disabled WHERE s.id = ?1 AND s.expires_at > ?2
            """, [.text(id), SQLiteDatabase.time(now)]
        ).first.map(Self.session)
    }

    func sessions(userID: UserID, at now: Timestamp) async throws -> [LoginSession] {
        try await database.read(
            "SELECT \(Self.columns) FROM sessions WHERE user_id = ?1 AND expires_at > ?2 ORDER BY last_used_at DESC, id",
            [.text(userID), SQLiteDatabase.time(now)]
        ).map(Self.session)
    }

    func deleteSession(id: String, userID: UserID) async throws -> Bool {
        try await !database.write("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2 RETURNING id", [.text(id), .text(userID)]).isEmpty
    }

    func deleteSessions(userID: UserID, keeping: String?) async throws {
        _ = try await database.write(
            "DELETE FROM sessions WHERE user_id = ?1 AND id IS NOT ?2", [.text(userID), keeping.map(SQLiteData.text) ?? .null])
    }

    func touchSession(id: String, at now: Timestamp) async throws {
        let recent = now.adding(milliseconds: -LoginSession.lastUseResolution.milliseconds)
        _ = try await database.write(
            "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1 AND last_used_at <= ?3",
            [.text(id), SQLiteDatabase.time(now), SQLiteDatabase.time(recent)])
    }

    func pruneSessions(before now: Timestamp) async throws {
        _ = try await database.write("DELETE FROM sessions WHERE expires_at <= ?1", [SQLiteDatabase.time(now)])
    }

    private static func session(_ row: SQLiteRow) throws -> LoginSession {
        guard let id = row.column("id")?.string, let userID = row.column("user_id")?.string,
              let created = SQLiteDatabase.time(row.column("created_at")), let lastUsed = SQLiteDatabase.time(row.column("last_used_at")),
              let expires = SQLiteDatabase.time(row.column("expires_at"))
        else { throw StoreError.invalid("malformed sessions row") }
        return LoginSession(id: id, userID: userID, createdAt: created, lastUsedAt: lastUsed, expiresAt: expires,
                            userAgent: row.column("user_agent")?.string)
    }
}
