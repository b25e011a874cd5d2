import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// Sign-up, log-in and log-out. A session is the backend's access token in an HttpOnly cookie.
struct AuthPages: Sendable {
    let client: TodoClient
    let views: Views
    let sessionLifetime: Duration
    let signUpPolicy: SignUpPolicy
    /// The provider's name on the log-in page's button, when single sign-on is on.
    let singleSignOnName: String?
    /// Whether the log-in and sign-up forms ask for a password (`PASSWORD_LOGIN`).
    let passwordLogin: Bool
    /// `PUBLIC_WEB_URL`, for the provider's redirect URI.
    let publicURL: String?

    struct FormPage {
        var chrome: Chrome
        var email: String
        var name: String
        var next: String
        /// The sign-up page, keeping `next` (an invitation's link, say) for after the sign-up.
        var signUpHref: String
        /// The token of the invitation the sign-up form carries, or "".
        var invitation: String
        var hasInvitation: Bool
        var errors: [String]
        var hasErrors: Bool
        var signUpOpen: Bool
        var passwordLogin: Bool
        var singleSignOn: SingleSignOnButton?
        var notice: String?
    }

    struct SingleSignOnButton {
        var name: String
        var href: String
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("login", use: showLogIn)
        router.post("login", use: logIn)
        router.get("signup", use: showSignUp)
        router.post("signup", use: signUp)
        router.post("logout", use: logOut)
        addSingleSignOnRoutes(to: router)
    }

    @Sendable func showLogIn(_ request: Request, context: WebRequestContext) async throws -> Response {
        let query = FormData(urlEncoded: Substring(request.uri.query ?? ""))
        let next = PageSupport.localPath(query["next"])
        if context.sessionToken != nil { return .redirect(to: next) }
        let notice = query["reset"] == "done" ? "Your password has been changed. Log in with the new one." : nil
        return page("login", context, title: "Log in", email: "", name: "", next: next, errors: [], notice: notice)
    }

    /// `?invite=` carries an invitation's token; under `SIGNUP=invite` the form needs one.
    @Sendable func showSignUp(_ request: Request, context: WebRequestContext) async throws -> Response {
        if context.sessionToken != nil { return .redirect(to: "/") }
        let query = FormData(urlEncoded: Substring(request.uri.query ?? ""))
        let invitation = query.text("invite")
        if let refusal = refusal(invitation: invitation, context) { return refusal }
        return signUpPage(context, email: "", name: "", next: PageSupport.localPath(query.text("next")), invitation: invitation, errors: [])
    }

    @Sendable func logIn(_ request: Request, context: WebRequestContext) async throws -> Response {
        guard passwordLogin else { return closed(context) }
        let form = context.form
        let email = form.text("email") ?? ""
        let next = PageSupport.localPath(form["next"])
        do {
            let session = try await client.logIn(email: email, password: form["password"] ?? "", for: request.browser(context))
            return start(session, context: context, then: next)
        } catch let error as TodoClientError {
            let (message, status): (String, HTTPResponse.Status) = switch error {
            case .unauthorized: ("Wrong e-mail or password.", .unauthorized)
            case .rateLimited: ("Too many failed attempts. Wait a few minutes, then try again.", .tooManyRequests)
            case .forbidden(let problem) where problem.code == "account_disabled": ("This account is disabled. Ask the operator of this site.", .forbidden)
            case .validation(let issues, let message): (PageSupport.messages(issues, message: message).joined(separator: " "), .unauthorized)
            default: throw error
            }
            return page("login", context, title: "Log in", email: email, name: "", next: next, errors: [message], status: status)
        }
    }

    @Sendable func signUp(_ request: Request, context: WebRequestContext) async throws -> Response {
        let form = context.form
        let invitation = form.text("invitation")
        if let refusal = refusal(invitation: invitation, context) { return refusal }
        let email = form.text("email") ?? ""
        let name = form.text("name") ?? ""
        let next = PageSupport.localPath(form["next"])
        do {
            let session = try await client.signUp(
                email: email, password: form["password"] ?? "", name: name.isEmpty ? nil : name, invitation: invitation,
                for: request.browser(context))
            return start(session, context: context, then: next)
        } catch TodoClientError.forbidden(let problem) where problem.code == "signup_closed" {
            return closed(context)
        } catch TodoClientError.forbidden(let problem) where problem.code == "invitation_required" {
            return byInvitation(context)
        } catch TodoClientError.conflict {
            return signUpPage(context, email: email, name: name, next: next, invitation: invitation,
                              errors: ["An account with this e-mail already exists. Log in instead."], status: .conflict)
        } catch TodoClientError.rejected(_, let problem) where problem.code == "invalid_token" {
            return signUpPage(context, email: email, name: name, next: next, invitation: invitation,
                              errors: ["This invitation link does not work: it is unknown, used, expired or for another e-mail. Ask for a new one."],
                              status: .badRequest)
        } catch TodoClientError.validation(let issues, let message) {
            return signUpPage(context, email: email, name: name, next: next, invitation: invitation,
                              errors: PageSupport.messages(issues, message: message), status: .unprocessableContent)
        }
    }

    /// The page that stands in for the sign-up form when the policy leaves no form to show.
    private func refusal(invitation: String?, _ context: WebRequestContext) -> Response? {
        guard passwordLogin else { return closed(context) }
        return switch signUpPolicy {
        case .closed: closed(context)
        case .invite where invitation == nil: byInvitation(context)
        default: nil
        }
    }

    /// Ends the backend session, so that the token stops working everywhere, not only in this
    /// browser; the cookie goes even when the backend cannot be told (the token then lives on
    /// until it expires, and the log says so).
    @Sendable func logOut(_ request: Request, context: WebRequestContext) async throws -> Response {
        if let token = context.sessionToken {
            do {
                try await client.logOut(token: token)
            } catch TodoClientError.unauthorized {
                // Already ended.
            } catch {
                context.logger.warning("log-out could not reach the backend; the session lives on until it expires", metadata: ["error": "\(error)"])
            }
        }
        return Self.signedOut(context)
    }

    /// To the log-in page, without the session cookie.
    static func signedOut(_ context: WebRequestContext) -> Response {
        var response = Response.redirect(to: "/login")
        response.setCookie(Session.expiredCookie(secure: context.isSecure))
        return response
    }

    /// Sets the session cookie; it lives as long as the access token, at most `sessionLifetime`.
    func start(_ session: TodoClient.Session, context: WebRequestContext, then next: String) -> Response {
        let remaining = (session.expiresAt.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch) / 1000
        let maxAge = Int(max(60, min(remaining, sessionLifetime.components.seconds)))
        var response = Response.redirect(to: next)
        response.setCookie(Session.cookie(token: session.token, maxAge: maxAge, secure: context.isSecure))
        return response
    }

    func page(_ template: String, _ context: WebRequestContext, title: String, email: String, name: String, next: String,
              invitation: String? = nil, errors: [String], notice: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let button = singleSignOnName.map { SingleSignOnButton(name: $0, href: "/auth/oidc/start?next=" + PageErrorMiddleware.escape(next)) }
        let signUpHref = next == "/" ? "/signup" : "/signup?next=" + PageErrorMiddleware.escape(next)
        return views.page(template, FormPage(chrome: views.chrome(context, title: title), email: email, name: name, next: next,
                                             signUpHref: signUpHref, invitation: invitation ?? "", hasInvitation: invitation != nil, errors: errors,
                                             hasErrors: !errors.isEmpty, signUpOpen: signUpPolicy == .open && passwordLogin,
                                             passwordLogin: passwordLogin, singleSignOn: button, notice: notice), status: status)
    }

    private func signUpPage(_ context: WebRequestContext, email: String, name: String, next: String, invitation: String?, errors: [String],
                            status: HTTPResponse.Status = .ok) -> Response {
        page("signup", context, title: "Create your account", email: email, name: name, next: next, invitation: invitation,
             errors: errors, status: status)
    }

    /// The log-in page, saying that accounts are made by the operator (or by single sign-on).
    func closed(_ context: WebRequestContext) -> Response {
        let message = passwordLogin ? "Sign-up is closed on this site. Ask its operator for an account."
            : "This site signs in only through \(singleSignOnName ?? "single sign-on")."
        return page("login", context, title: "Log in", email: "", name: "", next: "/", errors: [message], status: .forbidden)
    }

    /// The log-in page, saying that accounts come with an invitation.
    func byInvitation(_ context: WebRequestContext) -> Response {
        page("login", context, title: "Log in", email: "", name: "", next: "/",
             errors: ["Sign-up on this site is by invitation. Ask its operator or an admin for an invitation link."], status: .forbidden)
    }
}
