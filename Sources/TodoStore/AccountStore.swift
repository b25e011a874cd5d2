import TodoCore

/// Accounts and their personal API tokens.
public protocol AccountStore: Sendable {
    /// Creates an account, or returns nil when the e-mail is taken.
    func createUser(_ user: User, passwordHash: String) async throws -> User?
    func credentials(email: String) async throws -> StoredCredentials?
    func user(id: UserID) async throws -> User?

    /// Stores a personal token by the hash of its secret, unless its user already has `limit`
    /// tokens (`QuotaReached`); false when the user does not exist. Concurrent calls for one user
    /// are counted one at a time, so a burst of them cannot pass the limit together.
    func createToken(_ token: PersonalToken, secretHash: String, limit: Int) async throws -> Bool
    func tokens(userID: UserID) async throws -> [PersonalToken]
    func deleteToken(id: String, userID: UserID) async throws -> Bool
    /// The token with this secret hash (a read: an unknown token costs no write).
    func token(secretHash: String) async throws -> PersonalToken?
    /// Records a use of the token at `now`, unless one was recorded less than
    /// `PersonalToken.lastUseResolution` before: busy scripts must not cost a write per request.
    func touchToken(id: String, at now: Timestamp) async throws

    // MARK: Managing accounts

    /// Every account, oldest first, with whether it is disabled (for operators).
    func allUsers() async throws -> [Account]
    /// Replaces the password hash and, in the same transaction, ends every log-in session but
    /// `keepingSession`, voids the pending password resets and, with `revokingTokens`, deletes the
    /// personal tokens. False when the account does not exist.
    func changePassword(userID: UserID, hash: String, keepingSession: String?, revokingTokens: Bool) async throws -> Bool
    /// A disabled account cannot log in, and its sessions and tokens are not accepted.
    func setDisabled(_ disabled: Bool, userID: UserID) async throws -> Bool
    /// Deletes the account and everything it owns, in one transaction: tasks, personal tokens,
    /// sessions, password resets, conversations and their messages, events.
    func deleteUser(id: UserID) async throws -> Bool
}

/// An account as operators see it.
public struct Account: Sendable, Equatable {
    public var user: User
    public var disabled: Bool

    public init(user: User, disabled: Bool) {
        self.user = user
        self.disabled = disabled
    }
}

public struct StoredCredentials: Sendable {
    public var user: User
    public var passwordHash: String
    public var disabled: Bool

    public init(user: User, passwordHash: String, disabled: Bool = false) {
        self.user = user
        self.passwordHash = passwordHash
        self.disabled = disabled
    }
}
