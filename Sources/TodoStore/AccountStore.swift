import TodoCore

/// Accounts and their personal API tokens.
public protocol AccountStore: Sendable {
    /// Creates an account, or returns nil when the e-mail is taken.
    func createUser(_ user: User, passwordHash: String) async throws -> User?
    func credentials(email: String) async throws -> StoredCredentials?
    func user(id: UserID) async throws -> User?

    /// Stores a personal token by the hash of its secret.
    func createToken(_ token: PersonalToken, secretHash: String) async throws
    func tokens(userID: UserID) async throws -> [PersonalToken]
    func deleteToken(id: String, userID: UserID) async throws -> Bool
    /// The token with this secret hash (a read: an unknown token costs no write).
    func token(secretHash: String) async throws -> PersonalToken?
    /// Records a use of the token at `now`, unless one was recorded less than
    /// `PersonalToken.lastUseResolution` before: busy scripts must not cost a write per request.
    func touchToken(id: String, at now: Timestamp) async throws
}

public struct StoredCredentials: Sendable {
    public var user: User
    public var passwordHash: String

    public init(user: User, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
    }
}
