import TodoCore

/// Pending password resets. A reset works once, until it expires, and only while no other
/// password change came first: every password change (`AccountStore.changePassword`, a reset)
/// deletes the account's resets in its own transaction; deleting the account deletes them too.
public protocol PasswordResetStore: Sendable {
    /// Stores a reset; false when its account does not exist or is disabled.
    func createPasswordReset(_ reset: PasswordReset) async throws -> Bool
    /// The account whose reset has this token hash, if it has not expired at `now` (a read:
    /// an unknown token costs no write).
    func passwordResetAccount(tokenHash: String, at now: Timestamp) async throws -> UserID?
    /// Uses the reset, in one transaction: sets the password hash, ends every log-in session of
    /// the account and deletes all its resets, this one included. The account, or nil when no
    /// unexpired reset of an enabled account has this token hash.
    func resetPassword(tokenHash: String, passwordHash: String, at now: Timestamp) async throws -> UserID?
    /// Deletes the resets that expired before `now`.
    func prunePasswordResets(before now: Timestamp) async throws
}
