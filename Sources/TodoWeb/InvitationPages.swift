import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// The page an invitation's link opens (`/invitations/{id}?token=…`): after logging in (or
/// signing up), the invitee joins or declines. The link's secret is what proves the invitee,
/// since sign-up does not prove an address.
struct InvitationPages: Sendable {
    let client: TodoClient
    let views: Views

    struct InvitationPage {
        var chrome: Chrome
        var id: String
        var token: String
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("invitations/:invitation_id", use: show)
        router.post("invitations/:invitation_id/accept", use: accept)
        router.post("invitations/:invitation_id/decline", use: decline)
    }

    @Sendable func show(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let id = try context.opaqueID("invitation_id")
        let secret = request.uri.queryParameters.get("token") ?? ""
        let user = try await client.me(token: token)
        return views.page("invitation", InvitationPage(chrome: views.chrome(context, title: "Join a shared project", user: user), id: id, token: secret))
    }

    @Sendable func accept(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        do {
            let project = try await client.acceptInvitation(token: token, id: try context.opaqueID("invitation_id"), secret: context.form.text("token") ?? "")
            return .redirect(to: "/?project=\(project.id)")
        } catch TodoClientError.notFound {
            throw Self.gone
        }
    }

    @Sendable func decline(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        do {
            try await client.declineInvitation(token: token, id: try context.opaqueID("invitation_id"), secret: context.form.text("token") ?? "")
            return .redirect(to: "/")
        } catch TodoClientError.notFound {
            throw Self.gone
        }
    }

    static var gone: WebError {
        .forbidden("This invitation was already used, declined or replaced by a newer one, or is for another account. Ask the project's owner for a new link.")
    }
}
