import Hummingbird
import Synchronization
import TodoCore
import TodoStore

/// Authenticates `Authorization: Bearer <token>` and checks that the `{user_id}` of the path
/// (or its alias `me`) is the caller. Every route behind it can trust `context.userID`.
/// Tells whose a bearer token is: a JWT access token, or a personal token (`todo_pat_…`).
struct BearerAuthenticator: Sendable {
    let tokens: AccessTokens
    let accounts: any AccountStore
    let knownUsers = ExistingAccounts()

    /// The user and the kind of credential, or nil for a forged, expired or revoked token, or
    /// one whose account no longer exists.
    func authenticate(_ token: String) async throws -> (UserID, Credential)? {
        if token.hasPrefix(PersonalToken.prefix) {
            // Personal tokens are rows of their account: deleting the account deletes them.
            return try await PersonalTokens.owner(of: token, in: accounts).map { ($0, .personalToken) }
        }
        guard let userID = await tokens.verify(token), try await knownUsers.exists(userID, in: accounts) else { return nil }
        return (userID, .accessToken)
    }
}

/// Accounts seen to exist recently. A signed access token outlives a deleted account, so its
/// account is looked up again at most `recheckInterval` after the last time it was found: a
/// deleted account's tokens stop working within that time, at one lookup per user and interval.
final class ExistingAccounts: Sendable {
    static let recheckInterval = Duration.seconds(1)
    static let capacity = 10_000
    private let seen = Mutex<[UserID: ContinuousClock.Instant]>([:])

    func exists(_ userID: UserID, in accounts: any AccountStore) async throws -> Bool {
        let now = ContinuousClock.now
        if let last = seen.withLock({ $0[userID] }), now - last < Self.recheckInterval { return true }
        guard try await accounts.user(id: userID) != nil else {
            seen.withLock { _ = $0.removeValue(forKey: userID) }
            return false
        }
        seen.withLock { seen in
            if seen.count >= Self.capacity { seen.removeAll(keepingCapacity: true) }
            seen[userID] = now
        }
        return true
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

    func requireToken() throws -> String {
        guard let bearerToken else { throw APIError.unauthorized("authentication required") }
        return bearerToken
    }
}
