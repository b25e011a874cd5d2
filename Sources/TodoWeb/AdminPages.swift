import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// `/admin`, for admins: every account with its status, disable or enable one, and invitations
/// to sign up. The backend checks that the user is an admin; everyone else gets its 403.
struct AdminPages: Sendable {
    let client: TodoClient
    let views: Views
    /// `PUBLIC_WEB_URL`, where invitation links point.
    let publicURL: String?

    struct AdminPage {
        var chrome: Chrome
        var accounts: [AccountRow]
        var invitationLink: String?
        var invitationEmail: String
        var errors: [String]
        var hasErrors: Bool
    }

    struct AccountRow {
        var id: String
        var email: String
        var name: String
        var created: String
        var admin: Bool
        var disabled: Bool
        /// The admin's own row has no buttons: nobody locks themselves out.
        var isYou: Bool
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("admin", use: show)
        router.post("admin/users/:account_id/disable", use: disable)
        router.post("admin/users/:account_id/enable", use: enable)
        router.post("admin/invitations", use: invite)
    }

    @Sendable func show(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await page(context, token: try context.requireSession())
    }

    @Sendable func disable(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await setDisabled(true, context)
    }

    @Sendable func enable(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await setDisabled(false, context)
    }

    private func setDisabled(_ disabled: Bool, _ context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        guard let id = context.parameters.get("account_id") else { throw WebError.notFound }
        do {
            _ = try await client.changeAccount(token: token, id: id, disabled: disabled)
        } catch TodoClientError.conflict(let problem) {
            return try await page(context, token: token, errors: [problem.message], status: .conflict)
        }
        return .redirect(to: "/admin")
    }

    /// The link is shown once, here: only its hash is stored.
    @Sendable func invite(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let email = context.form.text("email") ?? ""
        do {
            let invitation = try await client.invite(token: token, email: email)
            let link = PageSupport.siteURL(publicURL: publicURL, context) + SignUpInvitation.signUpPath(token: invitation.token)
            return try await page(context, token: token, invitationLink: link, invitationEmail: invitation.email, status: .created)
        } catch TodoClientError.validation(let issues, let message) {
            return try await page(context, token: token, invitationEmail: email, errors: PageSupport.messages(issues, message: message),
                                  status: .unprocessableContent)
        } catch TodoClientError.conflict(let problem) {
            return try await page(context, token: token, invitationEmail: email, errors: [problem.message], status: .conflict)
        }
    }

    private func page(_ context: WebRequestContext, token: String, invitationLink: String? = nil, invitationEmail: String = "",
                      errors: [String] = [], status: HTTPResponse.Status = .ok) async throws -> Response {
        async let user = client.me(token: token)
        let accounts = try await client.listAccounts(token: token)
        let me = try await user
        let now = Timestamp.now()
        let clock = LocalClock(calendar: PageSupport.calendar(context.timeZone))
        let rows = accounts.map { account in
            AccountRow(id: account.user.id, email: account.user.email, name: account.user.name ?? "", created: clock.shortDate(account.user.createdAt, relativeTo: now),
                       admin: account.user.admin, disabled: account.disabled, isYou: account.user.id == me.id)
        }
        let model = AdminPage(chrome: views.chrome(context, title: "Admin", user: me, section: "admin"), accounts: rows,
                              invitationLink: invitationLink, invitationEmail: invitationEmail, errors: errors, hasErrors: !errors.isEmpty)
        return views.page("admin", model, status: status)
    }
}
