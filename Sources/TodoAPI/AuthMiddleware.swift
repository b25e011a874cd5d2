import Hummingbird
import Synchronization
import TodoCore
import TodoStore

/// Tells whose a bearer token is: a JWT access token of a live log-in session, or a personal
/// token (`todo_pat_…`).
struct BearerAuthenticator: Sendable {
    let tokens: AccessTokens
    let accounts: any AccountStore
    let sessions: LiveSessions

    /// The user and the kind of credential, or nil for a forged, expired or revoked token, or
    /// one whose session has ended (logged out, or its account deleted).
    func authenticate(_ token: String) async throws -> (UserID, Credential)? {
        if token.hasPrefix(PersonalToken.prefix) {
            // Personal tokens are rows of their account: deleting the account deletes them.
            return try await PersonalTokens.owner(of: token, in: accounts).map { ($0, .personalToken) }
        }
        guard let subject = await tokens.verify(token), try await sessions.isLive(subject) else { return nil }
        return (subject.userID, .session(subject.sessionID))
    }
}

/// Log-in sessions seen to exist recently. A signed access token cannot be taken back, so its
/// session is looked up again at most `recheckInterval` after the last time it was found: a
/// token stops working within that time of its session's end on any replica (at once on the
/// replica that ended it), at one lookup per session and interval.
final class LiveSessions: Sendable {
    static let recheckInterval = Duration.seconds(1)
    static let capacity = 10_000
    let store: any SessionStore
    private let seen = Mutex<[String: (userID: UserID, at: ContinuousClock.Instant)]>([:])

    init(store: any SessionStore) {
        self.store = store
    }

    func isLive(_ subject: TokenSubject) async throws -> Bool {
        let now = ContinuousClock.now
        if let last = seen.withLock({ $0[subject.sessionID] }), last.userID == subject.userID, now - last.at < Self.recheckInterval {
            return true
        }
        let time = Timestamp.now()
        guard let session = try await store.session(id: subject.sessionID, at: time), session.userID == subject.userID else {
            forget(session: subject.sessionID)
            return false
        }
        if session.lastUsedAt <= time.adding(milliseconds: -LoginSession.lastUseResolution.milliseconds) {
            try await store.touchSession(id: session.id, at: time)
        }
        seen.withLock { seen in
            if seen.count >= Self.capacity { seen.removeAll(keepingCapacity: true) }
            seen[session.id] = (session.userID, now)
        }
        return true
    }

    func forget(session id: String) {
        seen.withLock { _ = $0.removeValue(forKey: id) }
    }

    func forget(userID: UserID) {
        seen.withLock { seen in seen = seen.filter { $0.value.userID != userID } }
    }
}

struct AuthMiddleware<Context: AppRequestContext>: RouterMiddleware {
    let authenticator: BearerAuthenticator
    /// Whether the route has a `{user_id}` path segment to check.
    let checksPathUser: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("an Authorization: Bearer token is required")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty, parts[1].utf8.count <= 4096 else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let presented = String(parts[1])
        guard let (userID, credential) = try await authenticator.authenticate(presented) else {
            throw APIError.unauthorized("the token is invalid, revoked or expired")
        }
        if checksPathUser {
            let pathUser = context.parameters.get("user_id")
            guard pathUser == "me" || pathUser == userID else { throw APIError.forbidden }
        }
        var context = context
        context.userID = userID
        context.authenticatedWith = credential
        context.bearerToken = presented
        context.logger[metadataKey: "user_id"] = .string(userID)
        return try await next(request, context)
    }
}

extension AppRequestContext {
    /// The authenticated user; only routes behind `AuthMiddleware` call this.
    func requireUser() throws -> UserID {
        guard let userID else { throw APIError.unauthorized("authentication required") }
        return userID
    }

    /// The user of a log-in session. What a leaked script token must not do (manage sessions,
    /// tokens, accounts) needs one: 403 for a personal token.
    func requireLogIn(toManage what: String) throws -> UserID {
        let userID = try requireUser()
        guard authenticatedWith?.sessionID != nil else {
            throw APIError(.forbidden, code: "forbidden", message: "personal tokens cannot manage \(what); log in instead")
        }
        return userID
    }

    func requireToken() throws -> String {
        guard let bearerToken else { throw APIError.unauthorized("authentication required") }
        return bearerToken
    }
}
