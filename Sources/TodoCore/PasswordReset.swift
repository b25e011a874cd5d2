/// A pending password reset: the account, and when the one-time token a mail or an operator's
/// link carries stops working. Only the token's hash is stored, as for personal tokens.
public struct PasswordReset: Sendable, Equatable {
    public var tokenHash: String
    public var userID: UserID
    public var createdAt: Timestamp
    public var expiresAt: Timestamp

    /// How long a reset link works.
    public static let lifetime = Duration.seconds(1800)

    public init(tokenHash: String, userID: UserID, createdAt: Timestamp, expiresAt: Timestamp) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
