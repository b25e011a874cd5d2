import TodoCore

/// Projects and their members. Every account has an Inbox, made with the account (a trigger on
/// `users`, so whichever path creates an account); a project's creator is its first member, as
/// owner. Every statement is decided by the caller's membership: a non-member finds nothing,
/// and only an owner changes or deletes the project itself. A member's own order of their
/// projects (`position`) lives on their membership, so any member may reorder.
public protocol ProjectStore: Sendable {
    /// The projects `userID` is a member of, in their order; counts as of `now`.
    func projects(userID: UserID, at now: Timestamp) async throws -> [Project]
    /// One project, if `userID` is a member.
    func project(id: ProjectID, userID: UserID, at now: Timestamp) async throws -> Project?
    /// The role of `userID` in the project; nil when not a member (or no such project).
    func role(userID: UserID, projectID: ProjectID) async throws -> ProjectRole?
    /// Makes `userID` a member of the project with `role` (at the end of their order), or changes
    /// their role; false when the project or the user does not exist. Unguarded: for tests.
    func setMember(_ userID: UserID, role: ProjectRole, projectID: ProjectID, at now: Timestamp) async throws -> Bool
    /// Ends the membership of `member`, as `actor`: an owner removes anyone, any member removes
    /// themselves (leaves); never the last owner (`.lastOwner`). Deletes the member's webhooks of
    /// the project (their other webhooks stop hearing of it too: deliveries are queued by
    /// membership) and unassigns the project's tasks assigned to them (a change of each).
    func removeMember(_ member: UserID, projectID: ProjectID, by actor: UserID, at now: Timestamp) async throws -> MembershipOutcome
    /// Gives `member` another role, as `actor` (an owner); never demotes the last owner.
    func changeRole(of member: UserID, to role: ProjectRole, projectID: ProjectID, by actor: UserID) async throws -> MembershipOutcome
    /// The members of the project, if `userID` is one of them (nil otherwise).
    func members(projectID: ProjectID, userID: UserID) async throws -> [ProjectMember]?
    /// The members of each of the projects (a deleted project has none): whom a live event of a
    /// project reaches, asked when it is delivered so that a removed member hears nothing more.
    func members(ofProjects projectIDs: Set<ProjectID>) async throws -> [ProjectID: Set<UserID>]
    /// The project's pending invitations, oldest first, if `userID` is one of its owners (nil otherwise).
    func invitations(projectID: ProjectID, userID: UserID) async throws -> [ProjectInvitation]?
    /// Invites `invitation.email` with a role, as `actor` (an owner; never to an Inbox). The
    /// invitation is bound to the account that has the address now, if its address is proven
    /// (`AccountStore.createUser`); otherwise only the secret whose hash is `tokenHash` (the
    /// link's) claims it. Inviting an address again replaces
    /// its invitation (role, link, account); a member's address gets `.alreadyMember`. `id` names
    /// the invitation.
    func invite(_ invitation: NewInvitation, id: String, tokenHash: String, projectID: ProjectID, by actor: UserID, at now: Timestamp)
        async throws -> MembershipOutcome
    /// The invitations bound to the account of `userID`, oldest first.
    func receivedInvitations(userID: UserID) async throws -> [ReceivedInvitation]
    /// Makes `userID` a member of the invitation's project with its role (a member already keeps
    /// their role) and deletes the invitation; nil unless it is bound to them, or bound to no one
    /// and `tokenHash` is its link's.
    func acceptInvitation(id: String, userID: UserID, tokenHash: String?, at now: Timestamp) async throws -> ProjectID?
    /// Deletes the invitation on the same terms as `acceptInvitation`.
    func declineInvitation(id: String, userID: UserID, tokenHash: String?) async throws -> Bool
    /// A new project owned by `userID`, at the end of their order; nil when the user does not exist.
    func createProject(_ project: NewProject, userID: UserID, at now: Timestamp) async throws -> Project?
    /// Applies `patch`: the project's own fields only for its owner, the position for any member.
    /// An Inbox is never archived (`.isInbox`).
    func updateProject(id: ProjectID, userID: UserID, patch: ProjectPatch, at now: Timestamp) async throws -> ProjectWriteOutcome
    /// Deletes the project (owner only, never an Inbox) with its tasks, or after moving them to the
    /// end of the caller's Inbox (their order kept, each task's version incremented).
    func deleteProject(id: ProjectID, userID: UserID, tasks: ProjectTasksOnDelete, at now: Timestamp) async throws -> ProjectWriteOutcome
}

/// What becomes of a deleted project's tasks (`DELETE ...?tasks=`).
public enum ProjectTasksOnDelete: String, Sendable, CaseIterable {
    case delete, move
}

public enum ProjectWriteOutcome: Sendable, Equatable {
    case updated(Project)
    case deleted
    /// Not a member, or no such project.
    case notFound
    /// A member whose role does not allow this.
    case forbidden
    /// The Inbox cannot be deleted or archived.
    case isInbox

    /// Why a guarded write touched no row, asked only then.
    static func refused(role: ProjectRole?, isInbox: Bool) -> ProjectWriteOutcome {
        guard let role else { return .notFound }
        return role == .owner && isInbox ? .isInbox : .forbidden
    }
}

/// The statements of the project store, the same on both databases but for their booleans and
/// placeholders.
struct ProjectSQL: Sendable {
    /// A member's view of projects: `?1`/`$1` the member, `?2`/`$2` the time overdue counts from.
    let select: String
    let falseLiteral: String

    init(_ dialect: SQLDialect) {
        falseLiteral = dialect.falseLiteral
        let member = dialect.placeholder(1), now = dialect.placeholder(2)
        select = """
            SELECT p.id, p.name, p.color, m.position, p.archived, p.is_inbox, m.role,
                (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.completed = \(dialect.falseLiteral)) AS open_count,
                (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.completed = \(dialect.falseLiteral) AND t.due_at < \(now)) AS overdue_count,
                p.created_at, p.updated_at
            FROM project_members m JOIN projects p ON p.id = m.project_id WHERE m.user_id = \(member)
            """
    }

    static let order = " ORDER BY m.position, p.id"
    /// An address invited again: a new invitation in place of the old, whose link stops working.
    static let invitationReplaced = """
        id = excluded.id, role = excluded.role, invited_by = excluded.invited_by, created_at = excluded.created_at,
        user_id = excluded.user_id, token_hash = excluded.token_hash
        """
    static let postgres = ProjectSQL(.postgres)
    static let sqlite = ProjectSQL(.sqlite)
}
