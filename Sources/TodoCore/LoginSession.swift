/// One log-in: the access token issued by it names this session, and the token works only while
/// the session exists. Logging out deletes it; "sign out everywhere" deletes all of a user's.
public struct LoginSession: Sendable, Equatable {
    public var id: String
    public var userID: UserID
    public var createdAt: Timestamp
    public var lastUsedAt: Timestamp
    public var expiresAt: Timestamp
    /// The browser or client that logged in, as it named itself (shown on the sessions page).
    public var userAgent: String?

    /// How precisely the last use is kept, as for personal tokens: a write per request would
    /// cost more than the request.
    public static let lastUseResolution = Duration.seconds(60)
    /// User agents longer than this are cut: the header is the client's to choose.
    public static let userAgentLength = 200

    public init(id: String, userID: UserID, createdAt: Timestamp, lastUsedAt: Timestamp, expiresAt: Timestamp, userAgent: String?) {
        self.id = id
        self.userID = userID
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.userAgent = userAgent.map { String($0.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(Self.userAgentLength)) }
    }
}
