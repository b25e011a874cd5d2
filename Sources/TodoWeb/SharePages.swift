import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// A project's members and invitations (`/projects/{id}/share`), as forms that work without
/// JavaScript: every member sees who is in the project; owners invite by e-mail (and get the
/// link to pass on when the server does not mail it), change roles and remove members; anyone
/// leaves. Who may do what is the API's to decide: refusals come back as the page's errors.
struct SharePages: Sendable {
    let client: TodoClient
    let views: Views

    struct SharePage {
        var chrome: Chrome
        var projectID: String
        var projectName: String
        var projectHref: String
        var isOwner: Bool
        var members: [MemberRow]
        var invitations: [InvitationRow]
        var hasInvitations: Bool
        var roles: [RoleOption]
        var made: MadeLink?
        var errors: [String]
        var hasErrors: Bool
    }

    struct MemberRow {
        var userID: String
        var label: String
        var email: String
        var roleName: String
        var roles: [RoleOption]
        var isYou: Bool
        /// Owners change the roles of others and remove them.
        var manageable: Bool
    }

    struct InvitationRow {
        var email: String
        var roleName: String
    }

    struct RoleOption {
        var value: String
        var label: String
        var selected: Bool
    }

    struct MadeLink {
        var email: String
        var link: String
        var mailed: Bool
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("projects/:project_id/share", use: show)
        router.post("projects/:project_id/share/invite", use: invite)
        router.post("projects/:project_id/share/members/:member_id/role", use: changeRole)
        router.post("projects/:project_id/share/members/:member_id/remove", use: remove)
    }

    @Sendable func show(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await page(context, token: try context.requireSession(), projectID: try projectID(context))
    }

    @Sendable func invite(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession(), projectID = try projectID(context)
        let role = context.form.text("role").flatMap(ProjectRole.init(rawValue:)) ?? .editor
        return try await refusing(context, token: token, projectID: projectID) {
            let made = try await client.invite(token: token, projectID: projectID, email: context.form.text("email") ?? "", role: role)
            return try await page(context, token: token, projectID: projectID, made: MadeLink(email: made.email, link: made.acceptURL, mailed: made.mailed))
        }
    }

    @Sendable func changeRole(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession(), projectID = try projectID(context), member = try context.opaqueID("member_id")
        guard let role = context.form.text("role").flatMap(ProjectRole.init(rawValue:)) else { throw WebError.badRequest("Pick a role.") }
        return try await refusing(context, token: token, projectID: projectID) {
            try await client.changeRole(token: token, projectID: projectID, memberID: member, to: role)
            return .redirect(to: Self.path(projectID))
        }
    }

    /// Removes a member, or (the caller's own row) leaves the project for the list.
    @Sendable func remove(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession(), projectID = try projectID(context), member = try context.opaqueID("member_id")
        return try await refusing(context, token: token, projectID: projectID) {
            try await client.removeMember(token: token, projectID: projectID, memberID: member)
            return .redirect(to: member == "me" ? "/" : Self.path(projectID))
        }
    }

    /// `change`, or the page saying why the API refused it (a bad address, the last owner, a
    /// viewer, a member already).
    private func refusing(_ context: WebRequestContext, token: String, projectID: ProjectID,
                          _ change: () async throws -> Response) async throws -> Response {
        do {
            return try await change()
        } catch TodoClientError.validation(let issues, let message) {
            return try await page(context, token: token, projectID: projectID, errors: PageSupport.messages(issues, message: message), status: .unprocessableContent)
        } catch TodoClientError.conflict(let problem) {
            return try await page(context, token: token, projectID: projectID, errors: PageSupport.messages([], message: problem.message), status: .conflict)
        } catch TodoClientError.forbidden(let problem) {
            return try await page(context, token: token, projectID: projectID, errors: PageSupport.messages([], message: problem.message), status: .forbidden)
        }
    }

    /// The page, with what the last form did or why it did not; the API's refusals (a viewer, the
    /// last owner) are said on it.
    private func page(_ context: WebRequestContext, token: String, projectID: ProjectID, made: MadeLink? = nil, errors: [String] = [],
                      status: HTTPResponse.Status = .ok) async throws -> Response {
        async let user = client.me(token: token)
        async let projects = client.listProjects(token: token)
        let members: TodoClient.Members
        do {
            members = try await client.members(token: token, projectID: projectID)
        } catch TodoClientError.notFound {
            throw WebError.notFound
        }
        guard let project = try await projects.first(where: { $0.id == projectID }) else { throw WebError.notFound }
        let isOwner = project.role == .owner
        let you = try await user
        let rows = members.items.map { member in
            MemberRow(userID: member.userID, label: member.name ?? member.email, email: member.email, roleName: Self.name(member.role),
                      roles: Self.options(selected: member.role), isYou: member.userID == you.id, manageable: isOwner && member.userID != you.id)
        }
        let model = SharePage(
            chrome: views.chrome(context, title: "Share “\(project.name)”", user: you), projectID: String(projectID), projectName: project.name,
            projectHref: "/?" + ListFilters.query([("project", String(projectID))]), isOwner: isOwner, members: rows,
            invitations: members.invitations.map { InvitationRow(email: $0.email, roleName: Self.name($0.role)) },
            hasInvitations: !members.invitations.isEmpty, roles: Self.options(selected: .editor), made: made, errors: errors,
            hasErrors: !errors.isEmpty)
        return views.page("share", model, status: status)
    }

    static func path(_ projectID: ProjectID) -> String { "/projects/\(projectID)/share" }

    private static func name(_ role: ProjectRole) -> String {
        switch role {
        case .owner: "Owner"
        case .editor: "Editor"
        case .viewer: "Viewer"
        }
    }

    private static func options(selected: ProjectRole) -> [RoleOption] {
        ProjectRole.allCases.map { RoleOption(value: $0.rawValue, label: name($0), selected: $0 == selected) }
    }

    private func projectID(_ context: WebRequestContext) throws -> ProjectID {
        guard let id = context.parameters.get("project_id").flatMap(ProjectID.init) else { throw WebError.notFound }
        return id
    }
}
