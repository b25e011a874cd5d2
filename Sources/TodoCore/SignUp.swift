/// Who may create an account (`SIGNUP`).
public enum SignUpPolicy: String, Sendable, CaseIterable {
    /// Anyone, from the sign-up form or the API.
    case open
    /// Nobody but the operator, with `todo user create`.
    case closed
    /// Whoever holds an invitation link (`todo user invite`, or an admin in the web UI).
    case invite
}

/// An invitation to create the account of one e-mail. Its link carries a random token of which
/// only the hash is stored; the sign-up that uses it deletes it, and so does its expiry.
public struct SignUpInvitation: Sendable, Equatable {
    /// Long enough for a mail to be read after a weekend; a new invitation for the same e-mail
    /// replaces the one before it.
    public static let lifetime = Duration.seconds(7 * 24 * 3600)

    public var email: String
    /// The admin who made it; nil when an operator did, with `todo user invite`.
    public var invitedBy: UserID?
    public var createdAt: Timestamp
    public var expiresAt: Timestamp

    public init(email: String, invitedBy: UserID?, createdAt: Timestamp) {
        self.email = email
        self.invitedBy = invitedBy
        self.createdAt = createdAt
        expiresAt = createdAt.adding(milliseconds: Self.lifetime.milliseconds)
    }

    /// The web UI's page that signs up with the invitation's token (base64url: no escaping needed).
    public static func signUpPath(token: String) -> String {
        "/signup?invite=\(token)"
    }
}
