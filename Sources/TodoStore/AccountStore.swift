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
    /// The token with this secret hash, its last use set to `now`.
    func useToken(secretHash: String, at now: Timestamp) async throws -> PersonalToken?
}

public struct StoredCredentials: Sendable {
    public var user: User
    public var passwordHash: String

    public init(user: User, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
    }
}
