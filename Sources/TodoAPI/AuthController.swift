import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// Sign-up, log-in, log-out, the sessions of an account and the current account.
struct AuthController<Context: AppRequestContext>: Sendable {
    let accounts: any AccountStore
    let sessions: LiveSessions
    let authenticator: BearerAuthenticator
    let tokens: AccessTokens
    let hasher: PasswordHasher
    let body: JSONBody
    let throttle: LoginThrottle
    let signUps: SignUpThrottle
    let signUpPolicy: SignUpPolicy
    let firstAccountIsAdmin: Bool
    /// `PASSWORD_LOGIN=false` (only with single sign-on): no log-in or sign-up with a password.
    let passwordLogin: Bool
    /// The OpenID Connect provider, when single sign-on is configured.
    let provider: OpenIDProvider?

    struct Session: ResponseEncodable {
        var token: String
        var tokenType = "Bearer"
        var expiresAt: Timestamp
        var user: User

        enum CodingKeys: String, CodingKey {
            case token, user
            case tokenType = "token_type", expiresAt = "expires_at"
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("signup", use: signUp)
        group.post("login", use: logIn)
        group.get("oidc", use: showSingleSignOn)
        group.post("oidc", use: signInWithProvider)
        let signedIn = group.group().add(middleware: AuthMiddleware<Context>(authenticator: authenticator, checksPathUser: false))
        signedIn.get("me", use: me)
        signedIn.post("logout", use: logOut)
        signedIn.post("logout-all", use: logOutEverywhere)
        signedIn.get("sessions", use: listSessions)
        signedIn.delete("sessions/:session_id", use: endSession)
        signedIn.post("password", use: changePassword)
        signedIn.delete("me", use: deleteAccount)
    }

    /// Under `SIGNUP=invite` only with an invitation for the e-mail; an invitation is honoured
    /// under `open` too (it is used up), never under `closed`.
    @Sendable func signUp(_ request: Request, context: Context) async throws -> EditedResponse<Session> {
        try requirePasswordLogin()
        let fields = try Fields(try await body.require(request).object(), allowed: ["email", "password", "name", "invitation"])
        let invitation = try fields.optionalString("invitation")
        try requireSignUpAllowed(withInvitation: invitation != nil)
        var issues: [FieldIssue] = []
        let email = collect(&issues) { () throws(ValidationError) in try Credentials.normalizedEmail(try fields.string("email")) }
        let password = collect(&issues) { () throws(ValidationError) in
            let password = try fields.string("password")
            try Credentials.checkNewPassword(password)
            return password
        }
        let name = collect(&issues) { () throws(ValidationError) in try Credentials.normalizedName(try fields.optionalString("name")) }
        guard issues.isEmpty, let email, let password, let name else { throw ValidationError(issues) }
        try await signUps.admit(address: context.clientAddress)

        let user = User(id: UUID().uuidString.lowercased(), email: email, name: name, createdAt: .now())
        let creation = try await accounts.createUser(
            user, passwordHash: try await hasher.hash(password), admin: firstAccountIsAdmin ? .ifFirstAccount : .no,
            invitation: invitation.map { .token(hash: SecretTokens.hash($0)) },
            // An invitation's link was meant for this address: whoever sent it answers for it.
            addressProven: invitation != nil)
        switch creation {
        case .created(let created):
            context.logger.info("account created", metadata: ["user_id": "\(created.id)", "admin": .stringConvertible(created.admin)])
            return EditedResponse(status: .created, response: try await session(for: created, request))
        case .emailTaken:
            throw APIError(.conflict, code: "email_taken", message: "an account with this e-mail already exists")
        case .invitationInvalid:
            throw APIError(.badRequest, code: "invalid_token",
                           message: "the invitation is unknown, used, expired or for another e-mail; ask for a new link")
        }
    }

    @Sendable func logIn(_ request: Request, context: Context) async throws -> Session {
        try requirePasswordLogin()
        let fields = try Fields(try await body.require(request).object(), allowed: ["email", "password"])
        let email = try fields.string("email")
        let password = try fields.string("password")
        let valid = try? Credentials.normalizedEmail(email)
        let normalized = valid ?? email
        // No account has a malformed e-mail or a password with NUL (which bcrypt would cut short);
        // such input is not looked up, but gets the same work and the same answer.
        let acceptable = Credentials.isAcceptablePassword(password)
        var stored: StoredCredentials?
        let succeeded = try await throttle.attempt(email: normalized, address: context.clientAddress) {
            stored = valid != nil ? try await accounts.credentials(email: normalized) : nil
            return try await hasher.verify(password, against: acceptable ? stored?.passwordHash : nil) && acceptable && stored != nil
        }
        guard succeeded, let stored else { throw APIError.unauthorized("wrong e-mail or password") }
        // Only the right password learns that the account is disabled.
        guard !stored.disabled else { throw APIError(.forbidden, code: "account_disabled", message: "this account is disabled; ask the operator") }
        return try await session(for: stored.user, request)
    }

    /// A new password: every other log-in session ends at once (and, when asked, every personal
    /// token); this one goes on. The current password is checked under the log-in throttle, so
    /// a stolen session cannot guess it faster than a log-in could.
    @Sendable func changePassword(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireLogIn(toManage: "the account")
        let fields = try Fields(try await body.require(request).object(), allowed: ["current_password", "new_password", "revoke_api_tokens"])
        let current = try fields.string("current_password")
        let new = try fields.string("new_password")
        let revokeTokens = try fields.optionalBool("revoke_api_tokens") ?? false
        do { try Credentials.checkNewPassword(new) } catch { throw ValidationError(error.issues.map { FieldIssue(field: "new_password", message: $0.message) }) }
        try await checkPassword(current, of: userID, context)
        guard try await accounts.changePassword(userID: userID, hash: try await hasher.hash(new), keepingSession: context.authenticatedWith?.sessionID,
                                                revokingTokens: revokeTokens)
        else { throw APIError.unauthorized("the account no longer exists") }
        sessions.forget(userID: userID)
        context.logger.info("password changed", metadata: ["revoked_tokens": .stringConvertible(revokeTokens)])
        return .noContent
    }

    /// Deletes the account and everything it owns; the password is asked again.
    @Sendable func deleteAccount(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireLogIn(toManage: "the account")
        let fields = try Fields(try await body.require(request).object(), allowed: ["password"])
        try await checkPassword(try fields.string("password"), of: userID, context)
        guard try await accounts.deleteUser(id: userID) else { throw APIError.unauthorized("the account no longer exists") }
        sessions.forget(userID: userID)
        context.logger.info("account deleted")
        return .noContent
    }

    /// Checks the signed-in user's password, counted like a log-in; 403 `wrong_password` (not
    /// 401, which would say the session ended).
    private func checkPassword(_ password: String, of userID: UserID, _ context: Context) async throws {
        guard let user = try await accounts.user(id: userID) else { throw APIError.unauthorized("the account no longer exists") }
        let right = try await throttle.attempt(email: user.email, address: context.clientAddress) {
            let stored = try await accounts.credentials(email: user.email)
            return try await hasher.verify(password, against: Credentials.isAcceptablePassword(password) ? stored?.passwordHash : nil)
        }
        guard right else { throw APIError(.forbidden, code: "wrong_password", message: "the password is wrong") }
    }

    @Sendable func me(_ request: Request, context: Context) async throws -> User {
        guard let user = try await accounts.user(id: try context.requireUser()) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return user
    }

    /// Ends the session of the presented log-in token. A personal token is not a session: it
    /// stays valid (revoke it under `/api/tokens`), and the answer is the same 204.
    @Sendable func logOut(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireUser()
        if let sessionID = context.authenticatedWith?.sessionID {
            _ = try await sessions.store.deleteSession(id: sessionID, userID: userID)
            sessions.forget(session: sessionID)
        }
        return .noContent
    }

    /// Ends every log-in session of the user, this one included. Personal tokens stay.
    @Sendable func logOutEverywhere(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireLogIn(toManage: "sessions")
        try await sessions.store.deleteSessions(userID: userID, keeping: nil)
        sessions.forget(userID: userID)
        return .noContent
    }

    @Sendable func listSessions(_ request: Request, context: Context) async throws -> SessionList {
        let userID = try context.requireLogIn(toManage: "sessions")
        let current = context.authenticatedWith?.sessionID
        let items = try await sessions.store.sessions(userID: userID, at: .now())
        return SessionList(items: items.map { SessionInfo($0, current: $0.id == current) })
    }

    @Sendable func endSession(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireLogIn(toManage: "sessions")
        // Session ids are UUIDs: anything else is no session, answered without a query.
        guard let id = context.parameters.get("session_id"), UUID(uuidString: id) != nil,
              try await sessions.store.deleteSession(id: id, userID: userID) else {
            throw APIError(.notFound, code: "not_found", message: "no such session")
        }
        sessions.forget(session: id)
        return .noContent
    }

    /// Whether a new account may be made, by a sign-up or a first single sign-on: the one check
    /// every way of making an account goes through. Under `SIGNUP=invite` it needs an invitation
    /// (which the store then checks and uses up).
    func requireSignUpAllowed(withInvitation hasInvitation: Bool) throws {
        switch signUpPolicy {
        case .open: return
        case .closed:
            throw APIError(.forbidden, code: "signup_closed", message: "sign-up is closed on this server; ask its operator for an account")
        case .invite:
            guard hasInvitation else {
                throw APIError(.forbidden, code: "invitation_required", message: "sign-up on this server is by invitation; ask its operator for a link")
            }
        }
    }

    private func requirePasswordLogin() throws {
        guard passwordLogin else { throw APIError.passwordLoginDisabled }
    }

    /// A new log-in session and its access token.
    func session(for user: User, _ request: Request) async throws -> Session {
        let now = Timestamp.now()
        let expires = now.adding(milliseconds: tokens.lifetime.milliseconds)
        let session = LoginSession(id: UUID().uuidString.lowercased(), userID: user.id, createdAt: now, lastUsedAt: now,
                                   expiresAt: expires, userAgent: request.headers[.userAgent])
        try await sessions.store.createSession(session)
        let (token, expiresAt) = try await tokens.issue(for: user.id, session: session.id)
        return Session(token: token, expiresAt: expiresAt, user: user)
    }

    private func collect<T>(_ issues: inout [FieldIssue], _ body: () throws(ValidationError) -> T) -> T? {
        do { return try body() } catch { issues += error.issues; return nil }
    }
}

extension User: ResponseEncodable {}

struct SessionList: ResponseEncodable {
    var items: [SessionInfo]
}

/// A log-in session as its user sees it.
struct SessionInfo: Encodable {
    var id: String
    var createdAt: Timestamp
    var lastUsedAt: Timestamp
    var userAgent: String?
    var current: Bool

    init(_ session: LoginSession, current: Bool) {
        id = session.id
        createdAt = session.createdAt
        lastUsedAt = session.lastUsedAt
        userAgent = session.userAgent
        self.current = current
    }

    enum CodingKeys: String, CodingKey {
        case id, current
        case createdAt = "created_at", lastUsedAt = "last_used_at", userAgent = "user_agent"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(userAgent, forKey: .userAgent)
        try container.encode(current, forKey: .current)
    }
}

/// Each sign-up costs a password hash (bcrypt, on the threads that also check log-ins): at most
/// `addressLimit` per client address an hour, and `limit` a minute from all addresses together.
struct SignUpThrottle: Sendable {
    let addresses: AttemptLimit
    let everyone: AttemptLimit

    init(attempts: any AttemptStore, addressLimit: Int, limit: Int) {
        addresses = AttemptLimit(attempts: attempts, name: "signup.address", limit: addressLimit, window: .seconds(3600))
        everyone = AttemptLimit(attempts: attempts, name: "signup.all", limit: limit, window: .seconds(60))
    }

    func admit(address: String?) async throws {
        var wait = try await address.asyncFlatMap { try await addresses.admit($0) }
        if wait == nil { wait = try await everyone.admit("") }
        if let wait { throw LoginThrottle.tooMany(wait, "too many sign-ups; try again in \(wait) s") }
    }
}

/// The string fields of a small JSON object body, with unknown fields rejected.
struct Fields {
    let object: [String: JSONValue]

    init(_ object: [String: JSONValue], allowed: Set<String>) throws(ValidationError) {
        let unknown = object.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else { throw ValidationError(unknown.map { FieldIssue(field: $0, message: "unknown field") }) }
        self.object = object
    }

    func string(_ name: String) throws(ValidationError) -> String {
        guard let value = object[name] else { throw ValidationError(field: name, "is required") }
        guard case .string(let text) = value else { throw ValidationError(field: name, "must be a string") }
        return text
    }

    func optionalString(_ name: String) throws(ValidationError) -> String? {
        guard let value = object[name], value != .null else { return nil }
        return try string(name)
    }

    func optionalBool(_ name: String) throws(ValidationError) -> Bool? {
        guard let value = object[name], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw ValidationError(field: name, "must be true or false") }
        return flag
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
