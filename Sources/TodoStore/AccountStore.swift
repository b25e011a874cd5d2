import TodoCore

/// Accounts and their personal API tokens.
public protocol AccountStore: Sendable {
    /// Creates an account, or says why not. With an invitation, a pending one for the user's
    /// e-mail (unexpired at `user.createdAt`) must match it; it is used up in the same transaction.
    /// `addressProven`: someone answers for the e-mail (the operator, an invitation's link, an
    /// identity provider); an admin's always counts as proven. Only a proven address is invited
    /// to a project by address (`ProjectStore.invite`).
    func createUser(_ user: User, passwordHash: String, admin: AdminGrant, invitation: InvitationProof?, addressProven: Bool) async throws
        -> AccountCreation
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
    func setAdmin(_ admin: Bool, userID: UserID) async throws -> Bool
    /// The number the calendar feed's URL is signed with; nil for no such account or a disabled one.
    func calendarFeedGeneration(userID: UserID) async throws -> Int?
    /// Increments it, so that the feed's URL so far stops working; false for no such account.
    func revokeCalendarFeed(userID: UserID) async throws -> Bool

    // MARK: Invitations

    /// Stores an invitation by its token's hash; it replaces any other for the same e-mail, whose
    /// link then stops working.
    func createInvitation(_ invitation: SignUpInvitation, tokenHash: String) async throws
    func pruneInvitations(before now: Timestamp) async throws

    // MARK: Single sign-on

    /// The account an OpenID Connect identity is linked to.
    func account(linkedTo identity: ExternalIdentity) async throws -> Account?
    /// Links an identity to an account; false when the account does not exist. Linking a linked
    /// identity again changes nothing.
    func link(_ identity: ExternalIdentity, to userID: UserID, at now: Timestamp) async throws -> Bool
}

extension AccountStore {
    /// An account whose address nobody answers for (open sign-up).
    public func createUser(_ user: User, passwordHash: String, admin: AdminGrant, invitation: InvitationProof?) async throws -> AccountCreation {
        try await createUser(user, passwordHash: passwordHash, admin: admin, invitation: invitation, addressProven: false)
    }

    /// Creates an account that is not an admin, or returns nil when the e-mail is taken.
    public func createUser(_ user: User, passwordHash: String) async throws -> User? {
        guard case .created(let created) = try await createUser(user, passwordHash: passwordHash, admin: .no, invitation: nil)
        else { return nil }
        return created
    }
}

/// Whether a new account is an admin.
public enum AdminGrant: Sendable {
    case no, yes
    /// Only the first account of the database (`todo serve`: whoever sets it up).
    case ifFirstAccount
}

/// What shows that a new account was invited.
public enum InvitationProof: Sendable {
    /// The hash of the token of the invitation's link.
    case token(hash: String)
    /// Single sign-on: the provider vouched for the e-mail the invitation was made for.
    case verifiedEmail

    var tokenHash: String? {
        if case .token(let hash) = self { hash } else { nil }
    }
}

public enum AccountCreation: Sendable, Equatable {
    case created(User)
    case emailTaken
    /// Unknown, used, expired, or for another e-mail.
    case invitationInvalid
}

/// An account at an OpenID Connect provider: its issuer and the subject it names the user by,
/// a pair that stays the same when the user's e-mail changes there.
public struct ExternalIdentity: Sendable, Equatable {
    public var issuer: String
    public var subject: String

    public init(issuer: String, subject: String) {
        self.issuer = issuer
        self.subject = subject
    }
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
