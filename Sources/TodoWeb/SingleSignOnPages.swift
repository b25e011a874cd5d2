import Crypto
import Foundation
import Hummingbird
import TodoClient

/// The browser's part of single sign-on (OpenID Connect, authorization code flow with PKCE).
/// `/auth/oidc/start` makes a state, a nonce and a PKCE verifier, keeps them in a cookie and
/// sends the browser to the provider; `/auth/oidc/callback` checks the state the provider sent
/// back against the cookie and hands the code, the verifier and the nonce to the API, which
/// exchanges the code and verifies the ID token.
///
/// The cookie is neither signed nor encrypted, and needs neither: it holds only this browser's
/// own random values, is HttpOnly, lives ten minutes, and over HTTPS carries the `__Host-`
/// prefix, so no other site or subdomain can plant one (which a forged state would need). The
/// nonce is checked by the API against the ID token, the verifier by the provider.
struct SingleSignOnFlow: Codable, Equatable {
    var state: String
    var nonce: String
    var verifier: String
    /// The page to go to after signing in.
    var next: String

    static let cookieName = "todo_oidc"
    static let lifetime = 600

    static func begin(next: String) -> SingleSignOnFlow {
        SingleSignOnFlow(state: Session.randomValue(), nonce: Session.randomValue(), verifier: Session.randomValue(), next: next)
    }

    /// PKCE's S256 challenge (RFC 7636, 4.2).
    var challenge: String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString()
    }

    var cookieValue: String {
        (try? JSONEncoder().encode(self)).map { $0.base64URLEncodedString() } ?? ""
    }

    init(state: String, nonce: String, verifier: String, next: String) {
        self.state = state
        self.nonce = nonce
        self.verifier = verifier
        self.next = next
    }

    init?(cookieValue: String) {
        var base64 = cookieValue.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let flow = try? JSONDecoder().decode(Self.self, from: data) else { return nil }
        self = flow
    }

    static func cookie(_ value: String, maxAge: Int, secure: Bool) -> Cookie {
        Cookie(name: secure ? Session.securePrefix + cookieName : cookieName, value: value, maxAge: maxAge, path: "/", secure: secure,
               httpOnly: true, sameSite: .lax)
    }
}

extension AuthPages {
    func addSingleSignOnRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("auth/oidc/start", use: startSingleSignOn)
        router.get("auth/oidc/callback", use: finishSingleSignOn)
    }

    @Sendable func startSingleSignOn(_ request: Request, context: WebRequestContext) async throws -> Response {
        guard singleSignOnName != nil else { throw WebError.notFound }
        let query = FormData(urlEncoded: Substring(request.uri.query ?? ""))
        let flow = SingleSignOnFlow.begin(next: PageSupport.localPath(query["next"]))
        let provider = try await client.singleSignOnStart()
        let parameters = [
            ("response_type", "code"), ("client_id", provider.clientID), ("redirect_uri", callbackURL(context)),
            ("scope", provider.scope), ("state", flow.state), ("nonce", flow.nonce),
            ("code_challenge", flow.challenge), ("code_challenge_method", "S256"),
        ]
        let separator = provider.authorizationEndpoint.contains("?") ? "&" : "?"
        var response = Response.redirect(to: provider.authorizationEndpoint + separator + Self.queryString(parameters))
        response.setCookie(SingleSignOnFlow.cookie(flow.cookieValue, maxAge: SingleSignOnFlow.lifetime, secure: context.isSecure))
        return response
    }

    /// The provider sends the browser back here with a code and the state, or with an error.
    @Sendable func finishSingleSignOn(_ request: Request, context: WebRequestContext) async throws -> Response {
        guard singleSignOnName != nil else { throw WebError.notFound }
        let query = FormData(urlEncoded: Substring(request.uri.query ?? ""))
        let cookieName = context.isSecure ? Session.securePrefix + SingleSignOnFlow.cookieName : SingleSignOnFlow.cookieName
        let flow = request.cookies[cookieName].flatMap { SingleSignOnFlow(cookieValue: $0.value) }
        var response = try await signIn(query: query, flow: flow, request, context)
        // A flow is good for one callback.
        response.setCookie(SingleSignOnFlow.cookie("", maxAge: 0, secure: context.isSecure))
        return response
    }

    private func signIn(query: FormData, flow: SingleSignOnFlow?, _ request: Request, _ context: WebRequestContext) async throws -> Response {
        if let error = query["error"] {
            let reason = query["error_description"].map { "\(error): \($0)" } ?? error
            return failed(context, "The sign-in at the provider did not succeed (\(reason)).", status: .unauthorized)
        }
        guard let flow, Session.isValid(query["state"], expected: flow.state) else {
            return failed(context, "This sign-in did not start in this browser, or took too long. Try again.", status: .badRequest)
        }
        guard let code = query["code"], !code.isEmpty else { return failed(context, "The provider sent no code. Try again.", status: .badRequest) }
        do {
            let session = try await client.signInWithProvider(
                code: code, verifier: flow.verifier, redirectURI: callbackURL(context), nonce: flow.nonce, for: request.browser(context))
            return start(session, context: context, then: flow.next)
        } catch TodoClientError.validation(_, let message) {
            context.logger.warning("single sign-on refused", metadata: ["reason": .string(message)])
            return failed(context, "Single sign-on failed: the provider's answer could not be verified. Try again.", status: .badRequest)
        } catch TodoClientError.forbidden(let problem) where problem.code == "signup_closed" {
            return failed(context, "There is no account for this e-mail, and sign-up is closed. Ask the operator of this site.", status: .forbidden)
        } catch TodoClientError.forbidden(let problem) where problem.code == "account_disabled" {
            return failed(context, "This account is disabled. Ask the operator of this site.", status: .forbidden)
        }
    }

    private func failed(_ context: WebRequestContext, _ message: String, status: HTTPResponse.Status) -> Response {
        page("login", context, title: "Log in", email: "", name: "", next: "/", errors: [message], status: status)
    }

    /// Where the provider sends the browser back.
    func callbackURL(_ context: WebRequestContext) -> String {
        PageSupport.siteURL(publicURL: publicURL, context) + "/auth/oidc/callback"
    }

    /// The authorization request's parameters, every character but RFC 3986's unreserved ones escaped.
    static func queryString(_ parameters: [(String, String)]) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return parameters.map { name, value in
            name + "=" + (value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")
        }.joined(separator: "&")
    }
}
