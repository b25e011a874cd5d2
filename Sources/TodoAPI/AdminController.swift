import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// `/api/admin`: what an admin does in the web UI — list the accounts, disable or enable one,
/// make or unmake admins, invite someone to sign up. Only from a log-in session of an admin.
struct AdminController<Context: AppRequestContext>: Sendable {
    let accounts: any AccountStore
    let sessions: LiveSessions
    let body: JSONBody

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("users", use: listUsers)
        group.patch("users/:account_id", use: changeUser)
        group.post("invitations", use: invite)
    }

    @Sendable func listUsers(_ request: Request, context: Context) async throws -> AccountList {
        _ = try await requireAdmin(context)
        return AccountList(items: try await accounts.allUsers().map(AccountInfo.init))
    }

    /// `{disabled?, admin?}`. An admin cannot disable or unmake themselves: a server must keep
    /// someone who can undo it.
    @Sendable func changeUser(_ request: Request, context: Context) async throws -> AccountInfo {
        let adminID = try await requireAdmin(context)
        let fields = try Fields(try await body.require(request).object(), allowed: ["disabled", "admin"])
        let disabled = try fields.optionalBool("disabled")
        let admin = try fields.optionalBool("admin")
        guard let id = context.parameters.get("account_id"), UUID(uuidString: id) != nil,
              var account = try await accounts.allUsers().first(where: { $0.user.id == id })
        else { throw APIError(.notFound, code: "not_found", message: "no such account") }
        guard id != adminID || (disabled != true && admin != false) else {
            throw APIError(.conflict, code: "own_account", message: "admins cannot disable or unmake their own account")
        }
        if let disabled, try await accounts.setDisabled(disabled, userID: id) {
            account.disabled = disabled
            sessions.forget(userID: id)
        }
        if let admin, try await accounts.setAdmin(admin, userID: id) { account.user.admin = admin }
        context.logger.info("account changed by an admin", metadata: [
            "account_id": "\(id)", "disabled": .stringConvertible(account.disabled), "admin": .stringConvertible(account.user.admin),
        ])
        return AccountInfo(account)
    }

    /// A new invitation for `{email}`; the answer holds its token, the only copy. The web UI
    /// turns it into a link.
    @Sendable func invite(_ request: Request, context: Context) async throws -> EditedResponse<CreatedInvitation> {
        let adminID = try await requireAdmin(context)
        let fields = try Fields(try await body.require(request).object(), allowed: ["email"])
        let email = try Credentials.normalizedEmail(try fields.string("email"))
        guard try await accounts.credentials(email: email) == nil else {
            throw APIError(.conflict, code: "email_taken", message: "an account with this e-mail already exists")
        }
        let (token, invitation) = try await Invitations.issue(email: email, invitedBy: adminID, in: accounts)
        context.logger.info("invitation made", metadata: ["invited_by": "\(adminID)"])
        return EditedResponse(status: .created, response: CreatedInvitation(invitation: invitation, token: token))
    }

    /// The admin's id; 403 `admin_required` for everyone else (who learn nothing about accounts).
    private func requireAdmin(_ context: Context) async throws -> UserID {
        let userID = try context.requireLogIn(toManage: "accounts")
        guard try await accounts.user(id: userID)?.admin == true else {
            throw APIError(.forbidden, code: "admin_required", message: "only an admin of this server can do this")
        }
        return userID
    }
}

struct AccountList: ResponseEncodable {
    var items: [AccountInfo]
}

/// An account as an admin sees it.
struct AccountInfo: ResponseEncodable {
    var user: User
    var disabled: Bool

    init(_ account: Account) {
        user = account.user
        disabled = account.disabled
    }

    enum CodingKeys: String, CodingKey { case disabled }

    func encode(to encoder: any Encoder) throws {
        try user.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(disabled, forKey: .disabled)
    }
}

struct CreatedInvitation: ResponseEncodable {
    var invitation: SignUpInvitation
    var token: String

    enum CodingKeys: String, CodingKey {
        case email, token
        case expiresAt = "expires_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(invitation.email, forKey: .email)
        try container.encode(token, forKey: .token)
        try container.encode(invitation.expiresAt, forKey: .expiresAt)
    }
}
