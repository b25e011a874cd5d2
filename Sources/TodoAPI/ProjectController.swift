import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// `/api/{user_id}/projects`: the caller's projects, each as the caller sees it (role, own
/// order, task counts). Access is decided by membership in the store's statements: a project the
/// caller is not a member of is not found; only its owners change, share or delete it. Its
/// members are listed to every member; a member may leave, the last owner never.
struct ProjectController<Context: AppRequestContext>: Sendable {
    let projects: any ProjectStore
    let body: JSONBody
    let links: InvitationLinks

    struct List: ResponseEncodable {
        var items: [Project]
    }

    struct Members: ResponseEncodable {
        var items: [ProjectMember]
        /// Pending invitations, listed to owners only (empty for other members): who was
        /// invited is the owners' business, as only they invite.
        var invitations: [ProjectInvitation]
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":project_id", use: get)
        group.patch(":project_id", use: patch)
        group.delete(":project_id", use: delete)
        group.get(":project_id/members", use: members)
        group.patch(":project_id/members/:member_id", use: changeRole)
        group.delete(":project_id/members/:member_id", use: removeMember)
        group.post(":project_id/invitations", use: invite)
    }

    @Sendable func members(_ request: Request, context: Context) async throws -> Members {
        let id = try projectID(context), userID = try context.requireUser()
        guard let members = try await projects.members(projectID: id, userID: userID) else { throw APIError.projectNotFound }
        return Members(items: members, invitations: try await projects.invitations(projectID: id, userID: userID) ?? [])
    }

    /// An invitation made, with the link that claims it (only this answer holds the link) and
    /// whether it was mailed: if not, the owner passes it on.
    struct MadeInvitation: ResponseEncodable {
        var invitation: ProjectInvitation
        var acceptURL: String
        var mailed: Bool

        func encode(to encoder: any Encoder) throws {
            try invitation.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(acceptURL, forKey: .acceptURL)
            try container.encode(mailed, forKey: .mailed)
        }

        enum CodingKeys: String, CodingKey {
            case acceptURL = "accept_url", mailed
        }
    }

    /// 202 with the invitation and its link, the same shape whether or not the address has an
    /// account (a member's address: 409). The link is mailed to the address when the server
    /// sends mail.
    @Sendable func invite(_ request: Request, context: Context) async throws -> EditedResponse<MadeInvitation> {
        let invitation = try NewInvitation(json: try await body.require(request))
        let userID = try context.requireUser(), projectID = try projectID(context), now = Timestamp.now()
        let id = UUID().uuidString.lowercased(), token = SecretTokens.random()
        try Self.check(try await projects.invite(
            invitation, id: id, tokenHash: SecretTokens.hash(token), projectID: projectID, by: userID, at: now))
        let link = links.link(id: id, token: token)
        var mailed = false
        if links.sendsMail, let project = try await projects.project(id: projectID, userID: userID, at: now) {
            mailed = try await links.mailInBackground(invitation, link: link, project: project, by: userID, logger: context.logger)
        }
        let made = ProjectInvitation(id: id, projectID: projectID, email: invitation.email, role: invitation.role, createdAt: now)
        return EditedResponse(status: .accepted, response: MadeInvitation(invitation: made, acceptURL: link, mailed: mailed))
    }

    @Sendable func changeRole(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let role = try MemberRole.parse(json: try await body.require(request))
        let userID = try context.requireUser()
        try Self.check(try await projects.changeRole(of: try memberID(context, caller: userID), to: role, projectID: try projectID(context), by: userID))
        return .noContent
    }

    /// Removes a member (owners), or with the caller's own id (or `me`) leaves the project.
    @Sendable func removeMember(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireUser()
        try Self.check(try await projects.removeMember(try memberID(context, caller: userID), projectID: try projectID(context), by: userID, at: .now()))
        return .noContent
    }

    static func check(_ outcome: MembershipOutcome) throws {
        switch outcome {
        case .done: return
        case .notFound: throw APIError.projectNotFound
        case .forbidden: throw APIError.notProjectOwner
        case .noSuchMember: throw APIError(.notFound, code: "not_found", message: "no such member of this project")
        case .lastOwner: throw APIError(.conflict, code: "last_owner", message: "a project needs an owner: make another member an owner first")
        case .isInbox: throw APIError(.conflict, code: "inbox", message: "the Inbox cannot be shared")
        case .alreadyMember: throw APIError(.conflict, code: "already_member", message: "this address is a member's already")
        }
    }

    private func memberID(_ context: Context, caller: UserID) throws -> UserID {
        guard let text = context.parameters.get("member_id") else { throw APIError.projectNotFound }
        return text == "me" ? caller : text
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> List {
        List(items: try await projects.projects(userID: try context.requireUser(), at: .now()))
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<Project> {
        let new = try NewProject(json: try await body.require(request))
        let userID = try context.requireUser()
        guard let project = try await projects.createProject(new, userID: userID, at: .now()) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        var response = EditedResponse(status: .created, response: project)
        response.headers[.location] = "/api/\(context.parameters.get("user_id") ?? userID)/projects/\(project.id)"
        return response
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Project {
        guard let project = try await projects.project(id: try projectID(context), userID: try context.requireUser(), at: .now()) else {
            throw APIError.projectNotFound
        }
        return project
    }

    @Sendable func patch(_ request: Request, context: Context) async throws -> Project {
        let patch = try ProjectPatch(json: try await body.require(request))
        let id = try projectID(context), userID = try context.requireUser()
        switch try await projects.updateProject(id: id, userID: userID, patch: patch, at: .now()) {
        case .updated(let project): return project
        case .notFound, .deleted: throw APIError.projectNotFound
        case .forbidden: throw APIError.notProjectOwner
        case .isInbox: throw ValidationError(field: "archived", "the Inbox cannot be archived")
        }
    }

    /// `?tasks=delete` deletes the project's tasks with it; `?tasks=move` (the default, which
    /// loses nothing) moves them to the end of the caller's Inbox first.
    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        var tasks = ProjectTasksOnDelete.move
        let parameters: [(name: String, value: String)]
        do { parameters = try QueryString.parameters(request.uri.query) } catch { throw APIError.invalidParameters(error) }
        for (name, value) in parameters {
            guard name == "tasks" else { throw APIError.invalidParameters(ValidationError(field: name, "unknown query parameter")) }
            guard let choice = ProjectTasksOnDelete(rawValue: value) else {
                throw APIError.invalidParameters(ValidationError(field: "tasks", "must be delete or move"))
            }
            tasks = choice
        }
        switch try await projects.deleteProject(id: try projectID(context), userID: try context.requireUser(), tasks: tasks, at: .now()) {
        case .deleted, .updated: return .noContent
        case .notFound: throw APIError.projectNotFound
        case .forbidden: throw APIError.notProjectOwner
        case .isInbox: throw APIError.inboxKept
        }
    }

    /// A path id that is not a project id names no project: 404, like another user's project.
    private func projectID(_ context: Context) throws -> ProjectID {
        guard let text = context.parameters.get("project_id"), let id = ProjectID(text), id > 0 else { throw APIError.projectNotFound }
        return id
    }
}

extension Project: ResponseEncodable {}

/// `/api/{user_id}/invitations`: the invitations bound to the caller's account, to accept (200
/// with the project) or decline (204). An invitation bound to no account (no account with that
/// address whose address is proven when it was made) is claimed with its link's `token` in the
/// body. Another's invitation, or a wrong token, is not found.
struct InvitationController<Context: AppRequestContext>: Sendable {
    let projects: any ProjectStore
    let body: JSONBody

    struct List: ResponseEncodable {
        var items: [ReceivedInvitation]
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.post(":invitation_id/accept", use: accept)
        group.post(":invitation_id/decline", use: decline)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> List {
        List(items: try await projects.receivedInvitations(userID: try context.requireUser()))
    }

    @Sendable func accept(_ request: Request, context: Context) async throws -> Project {
        let userID = try context.requireUser(), now = Timestamp.now(), tokenHash = try await self.tokenHash(request)
        guard let projectID = try await projects.acceptInvitation(id: try invitationID(context), userID: userID, tokenHash: tokenHash, at: now),
              let project = try await projects.project(id: projectID, userID: userID, at: now)
        else { throw Self.notFound }
        return project
    }

    @Sendable func decline(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let tokenHash = try await self.tokenHash(request)
        guard try await projects.declineInvitation(id: try invitationID(context), userID: try context.requireUser(), tokenHash: tokenHash)
        else { throw Self.notFound }
        return .noContent
    }

    /// The hash of the body's `token`, if there is a body: `{}` and no body at all claim by account.
    private func tokenHash(_ request: Request) async throws -> String? {
        guard let json = try await body.read(request) else { return nil }
        let fields = try Fields(try json.object(), allowed: ["token"])
        return try fields.optionalString("token").map(SecretTokens.hash)
    }

    private func invitationID(_ context: Context) throws -> String {
        guard let id = context.parameters.get("invitation_id") else { throw Self.notFound }
        return id
    }

    static var notFound: APIError { APIError(.notFound, code: "not_found", message: "no such invitation") }
}
