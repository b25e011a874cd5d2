import TodoCore

/// The log-in sessions of accounts. An access token is valid only while its session is stored.
public protocol SessionStore: Sendable {
    func createSession(_ session: LoginSession) async throws
    /// The session with this id, if it exists, has not expired at `now`, and its account is not disabled.
    func session(id: String, at now: Timestamp) async throws -> LoginSession?
    /// The user's unexpired sessions, the most recently used first.
    func sessions(userID: UserID, at now: Timestamp) async throws -> [LoginSession]
    func deleteSession(id: String, userID: UserID) async throws -> Bool
    /// Deletes every session of the user but `keeping` (the one asking, when it should stay).
    func deleteSessions(userID: UserID, keeping: String?) async throws
    /// Records a use at `now`, unless one was recorded less than `LoginSession.lastUseResolution` before.
    func touchSession(id: String, at now: Timestamp) async throws
    /// Deletes the sessions that expired before `now`.
    func pruneSessions(before now: Timestamp) async throws
}
