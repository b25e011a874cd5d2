import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// "Forgot your password?": the form that asks for a mail, and the page the mail's link opens.
struct PasswordResetPages: Sendable {
    let client: TodoClient
    let views: Views
    /// `PASSWORD_LOGIN`: when off, there is no password to reset, and each page says so.
    let passwordLogin: Bool

    /// The model of both forms: the e-mail asked for, or the link's token.
    struct FormPage {
        var chrome: Chrome
        var email = ""
        var token = ""
        var errors: [String]
        var hasErrors: Bool
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        guard passwordLogin else {
            for path in ["forgot", "reset"] {
                router.get(RouterPath(path), use: noPasswords)
                router.post(RouterPath(path), use: noPasswords)
            }
            return
        }
        router.get("forgot", use: showForgot)
        router.post("forgot", use: forgot)
        router.get("reset", use: showReset)
        router.post("reset", use: reset)
    }

    @Sendable func noPasswords(_ request: Request, context: WebRequestContext) async throws -> Response {
        var response = message(context, heading: "No passwords here", "This site signs in only through single sign-on: there is no password to reset.")
        response.status = .forbidden
        return response
    }

    @Sendable func showForgot(_ request: Request, context: WebRequestContext) async throws -> Response {
        forgotPage(context, email: "", errors: [])
    }

    /// The same page whether or not the e-mail has an account: the backend answers the same.
    @Sendable func forgot(_ request: Request, context: WebRequestContext) async throws -> Response {
        let email = context.form.text("email") ?? ""
        do {
            let mailed = try await client.forgotPassword(email: email, for: request.browser(context))
            return mailed
                ? message(context, heading: "Check your mail",
                          "If an account exists for \(email), a mail with a link to choose a new password is on its way. The link works for 30 minutes.")
                : message(context, heading: "Ask the operator",
                          "This site does not send mail. Ask its operator to reset your password: they can give you a one-time link.")
        } catch TodoClientError.validation(let issues, let text) {
            return forgotPage(context, email: email, errors: PageSupport.messages(issues, message: text), status: .unprocessableContent)
        }
    }

    /// The link's page. Whether the token is still valid shows when the form is sent: checking
    /// it now would need a request that tells anyone who has a token whether it works.
    @Sendable func showReset(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = FormData(urlEncoded: Substring(request.uri.query ?? ""))["token"] ?? ""
        guard !token.isEmpty else { return invalidLink(context) }
        return resetPage(context, token: token, errors: [])
    }

    @Sendable func reset(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = context.form["token"] ?? ""
        do {
            try await client.resetPassword(token: token, newPassword: context.form["password"] ?? "", for: request.browser(context))
            // Any session this browser had ended with the reset.
            var response = Response.redirect(to: "/login?reset=done")
            response.setCookie(Session.expiredCookie(secure: context.isSecure))
            return response
        } catch TodoClientError.rejected(_, let problem) where problem.code == "invalid_token" {
            return invalidLink(context)
        } catch TodoClientError.validation(let issues, let text) {
            return resetPage(context, token: token, errors: PageSupport.messages(issues, message: text), status: .unprocessableContent)
        }
    }

    private func invalidLink(_ context: WebRequestContext) -> Response {
        views.page("message", MessagePage(
            chrome: views.chrome(context, title: "Link not valid"), heading: "This link does not work any more",
            message: "A reset link works once, for 30 minutes, and not after the password has changed. Ask for a new one.",
            linkText: "Ask for a new link", linkHref: "/forgot", unavailable: false), status: .badRequest)
    }

    private func message(_ context: WebRequestContext, heading: String, _ text: String) -> Response {
        views.page("message", MessagePage(chrome: views.chrome(context, title: heading), heading: heading, message: text,
                                          linkText: "Back to log in", linkHref: "/login", unavailable: false))
    }

    private func forgotPage(_ context: WebRequestContext, email: String, errors: [String], status: HTTPResponse.Status = .ok) -> Response {
        views.page("forgot", FormPage(chrome: views.chrome(context, title: "Forgot your password?"), email: email,
                                      errors: errors, hasErrors: !errors.isEmpty), status: status)
    }

    private func resetPage(_ context: WebRequestContext, token: String, errors: [String], status: HTTPResponse.Status = .ok) -> Response {
        views.page("reset", FormPage(chrome: views.chrome(context, title: "Choose a new password"), token: token,
                                     errors: errors, hasErrors: !errors.isEmpty), status: status)
    }
}
