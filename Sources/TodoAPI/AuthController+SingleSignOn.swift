import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// Single sign-on with an OpenID Connect provider. The web UI runs the browser's part (state,
/// PKCE, the redirects); the API does what proves who the user is: it exchanges the code with
/// the client secret, verifies the ID token and finds, links or makes the account.
extension AuthController {
    /// What a front end needs to send a browser to the provider.
    struct SingleSignOnStart: ResponseEncodable {
        var issuer: String
        var clientID: String
        var authorizationEndpoint: String
        var scope = "openid email profile"

        enum CodingKeys: String, CodingKey {
            case issuer, scope
            case clientID = "client_id", authorizationEndpoint = "authorization_endpoint"
        }
    }

    @Sendable func showSingleSignOn(_ request: Request, context: Context) async throws -> SingleSignOnStart {
        let provider = try requireProvider()
        let endpoint = try await Self.translating { () async throws(OpenIDFailure) in try await provider.authorizationEndpoint() }
        return SingleSignOnStart(issuer: provider.settings.issuer, clientID: provider.settings.clientID, authorizationEndpoint: endpoint)
    }

    /// Signs in with the authorization code the provider sent the browser back with: the account
    /// linked to the provider's subject, else the account with the verified e-mail (linked from
    /// now on), else a new account when sign-up is open.
    @Sendable func signInWithProvider(_ request: Request, context: Context) async throws -> Session {
        let provider = try requireProvider()
        let fields = try Fields(try await body.require(request).object(), allowed: ["code", "code_verifier", "redirect_uri", "nonce"])
        let code = try fields.string("code"), verifier = try fields.string("code_verifier")
        let redirectURI = try fields.string("redirect_uri"), nonce = try fields.string("nonce")
        let identity = try await Self.translating { () async throws(OpenIDFailure) in
            try await provider.identity(code: code, verifier: verifier, redirectURI: redirectURI, nonce: nonce)
        }
        let external = ExternalIdentity(issuer: provider.settings.issuer, subject: identity.subject)
        let account: Account
        if let linked = try await accounts.account(linkedTo: external) {
            account = linked
        } else {
            account = try await linkOrCreateAccount(for: identity, as: external, context)
        }
        guard !account.disabled else { throw APIError(.forbidden, code: "account_disabled", message: "this account is disabled; ask the operator") }
        return try await session(for: account.user, request)
    }

    private func linkOrCreateAccount(for identity: VerifiedIdentity, as external: ExternalIdentity, _ context: Context) async throws -> Account {
        guard let raw = identity.verifiedEmail, let email = try? Credentials.normalizedEmail(raw) else {
            throw APIError(.badRequest, code: "invalid_oidc", message: "the provider did not vouch for an e-mail address (email_verified), so no account can be found or made")
        }
        if let stored = try await accounts.credentials(email: email) {
            _ = try await accounts.link(external, to: stored.user.id, at: .now())
            context.logger.info("single sign-on linked", metadata: ["user_id": "\(stored.user.id)"])
            return Account(user: stored.user, disabled: stored.disabled)
        }
        // Under SIGNUP=invite, the invitation made for the e-mail the provider vouched for.
        let invitation: InvitationProof? = signUpPolicy == .invite ? .verifiedEmail : nil
        try requireSignUpAllowed(withInvitation: invitation != nil)
        let user = User(id: UUID().uuidString.lowercased(), email: email, name: try? Credentials.normalizedName(identity.name), createdAt: .now())
        // No password matches it: the account signs in through the provider.
        let creation = try await accounts.createUser(
            user, passwordHash: hasher.unusableHash(), admin: firstAccountIsAdmin ? .ifFirstAccount : .no, invitation: invitation,
            addressProven: true)
        let created: User
        switch creation {
        case .created(let user): created = user
        // Made by a concurrent sign-in with the same e-mail a moment ago: link to that one.
        case .emailTaken: return try await linkOrCreateAccount(for: identity, as: external, context)
        case .invitationInvalid:
            throw APIError(.forbidden, code: "invitation_required", message: "sign-up on this server is by invitation, and \(email) has none")
        }
        _ = try await accounts.link(external, to: created.id, at: .now())
        context.logger.info("account created by single sign-on", metadata: ["user_id": "\(created.id)"])
        return Account(user: created, disabled: false)
    }

    private func requireProvider() throws -> OpenIDProvider {
        guard let provider else {
            throw APIError(.notFound, code: "oidc_not_configured", message: "single sign-on is not configured on this server (OIDC_ISSUER)")
        }
        return provider
    }

    /// 400 `invalid_oidc` when the provider's answer proves nothing; 502 `oidc_unavailable` when
    /// the provider cannot be asked.
    static func translating<T>(_ body: () async throws(OpenIDFailure) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            switch error {
            case .refused(let reason):
                throw APIError(.badRequest, code: "invalid_oidc", message: "single sign-on failed: \(reason)")
            case .unavailable(let reason):
                throw APIError(.badGateway, code: "oidc_unavailable", message: "the single sign-on provider cannot be reached: \(reason)")
            }
        }
    }
}
