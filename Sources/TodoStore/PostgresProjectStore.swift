import Logging
import PostgresNIO
import TodoCore

/// Projects on PostgreSQL. Not on a hot path: unnamed statements.
struct PostgresProjectStore: ProjectStore {
    let database: PostgresDatabase

    func projects(userID: UserID, at now: Timestamp) async throws -> [Project] {
        var binds = PostgresBindings(capacity: 2)
        binds.append(userID)
        binds.append(now)
        return try await database.query(PostgresQuery(unsafeSQL: ProjectSQL.postgres.select + ProjectSQL.order, binds: binds), Self.projects)
    }

    func project(id: ProjectID, userID: UserID, at now: Timestamp) async throws -> Project? {
        var binds = PostgresBindings(capacity: 3)
        binds.append(userID)
        binds.append(now)
        binds.append(id)
        return try await database.query(PostgresQuery(unsafeSQL: ProjectSQL.postgres.select + " AND p.id = $3", binds: binds), Self.projects).first
    }

    func role(userID: UserID, projectID: ProjectID) async throws -> ProjectRole? {
        try await database.run { connection, logger in try await Self.role(of: userID, in: projectID, on: connection, logger: logger) }
    }

    private static func role(of userID: UserID, in projectID: ProjectID, on connection: PostgresConnection, logger: Logger) async throws -> ProjectRole? {
        let rows = try await connection.query(
            "SELECT role FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID)", logger: logger)
        for try await role in rows.decode(String.self) { return ProjectRole(rawValue: role) }
        return nil
    }

    func setMember(_ userID: UserID, role: ProjectRole, projectID: ProjectID, at now: Timestamp) async throws -> Bool {
        try await database.write(
            """
            INSERT INTO project_members (project_id, user_id, role, position, created_at)
            SELECT p.id, u.id, \(role.rawValue), COALESCE((SELECT max(position) FROM project_members WHERE user_id = \(userID)), 0) + \(ManualOrder.step), \(now)
            FROM projects p, users u WHERE p.id = \(projectID) AND u.id = \(userID)
            ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role RETURNING project_id
            """,
            PostgresDatabase.hasRows)
    }

    func createProject(_ project: NewProject, userID: UserID, at now: Timestamp) async throws -> Project? {
        let id = try await database.transaction { connection, logger -> ProjectID? in
            try await Self.insert(.init(name: project.name, color: project.color), id: nil, userID: userID, at: now, on: connection, logger: logger)
        }
        guard let id = id ?? nil else { return nil }
        return try await self.project(id: id, userID: userID, at: now)
    }

    /// Inserts a project by `userID`, who becomes its owner, after their other projects; nil when
    /// the user does not exist. `id` is one taken from the sequence beforehand, or nil for the next.
    static func insert(_ project: ImportPlan.NewProjectEntry, id: ProjectID?, userID: UserID, at now: Timestamp,
                       on connection: PostgresConnection, logger: Logger) async throws -> ProjectID? {
        let rows = try await connection.query(
            """
            INSERT INTO projects (id, created_by, name, color, archived, is_inbox, created_at, updated_at) OVERRIDING SYSTEM VALUE
            SELECT COALESCE(\(id)::int8, nextval('projects_id_seq')), \(userID), \(project.name), \(project.color), \(project.archived), false, \(now), \(now)
            WHERE EXISTS (SELECT 1 FROM users WHERE id = \(userID)) RETURNING id
            """, logger: logger)
        var inserted: ProjectID?
        for try await value in rows.decode(Int64.self) { inserted = value }
        guard let inserted else { return nil }
        _ = try await connection.query(
            """
            INSERT INTO project_members (project_id, user_id, role, position, created_at)
            VALUES (\(inserted), \(userID), 'owner',
                    COALESCE((SELECT max(position) FROM project_members WHERE user_id = \(userID)), 0) + \(ManualOrder.step), \(now))
            """, logger: logger)
        return inserted
    }

    /// `count` project ids, taken from the sequence outside any transaction.
    static func reserveIDs(_ count: Int, in database: PostgresDatabase) async throws -> [ProjectID] {
        guard count > 0 else { return [] }
        return try await database.query("SELECT nextval('projects_id_seq') FROM generate_series(1, \(count))") { rows in
            var ids: [ProjectID] = []
            for try await id in rows.decode(Int64.self) { ids.append(id) }
            return ids
        }
    }

    func updateProject(id: ProjectID, userID: UserID, patch: ProjectPatch, at now: Timestamp) async throws -> ProjectWriteOutcome {
        let refusal = try await database.transaction { connection, logger -> ProjectWriteOutcome? in
            if patch.changesProject {
                let setsColor = patch.color != nil, color = patch.color ?? nil
                let rows = try await connection.query(
                    """
                    UPDATE projects SET name = COALESCE(\(patch.name), name), color = CASE WHEN \(setsColor) THEN \(color) ELSE color END,
                        archived = COALESCE(\(patch.archived), archived), updated_at = \(now)
                    WHERE id = \(id) AND NOT (is_inbox AND COALESCE(\(patch.archived), false))
                    AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = projects.id AND m.user_id = \(userID) AND m.role = 'owner')
                    RETURNING id
                    """, logger: logger)
                if try await !PostgresDatabase.hasRows(rows) {
                    var isInbox = false
                    for try await value in try await connection.query("SELECT is_inbox FROM projects WHERE id = \(id)", logger: logger).decode(Bool.self) {
                        isInbox = value
                    }
                    return .refused(role: try await Self.role(of: userID, in: id, on: connection, logger: logger), isInbox: isInbox)
                }
            }
            if let position = patch.position {
                let rows = try await connection.query(
                    "UPDATE project_members SET position = \(position) WHERE project_id = \(id) AND user_id = \(userID) RETURNING project_id",
                    logger: logger)
                guard try await PostgresDatabase.hasRows(rows) else { throw PostgresDatabase.Rollback() }
                let crowded = try await connection.query(
                    "SELECT 1 FROM project_members WHERE user_id = \(userID) AND position = \(position) AND project_id <> \(id) LIMIT 1",
                    logger: logger)
                if try await PostgresDatabase.hasRows(crowded) {
                    // No room between the neighbours: renumber this member's list, the moved
                    // project just before the one whose position it took (`ManualOrder`).
                    _ = try await connection.query(
                        """
                        UPDATE project_members SET position = r.rank FROM (
                            SELECT project_id, \(ManualOrder.step) * row_number() OVER (ORDER BY position, project_id <> \(id), project_id) AS rank
                            FROM project_members WHERE user_id = \(userID)) r
                        WHERE project_members.user_id = \(userID) AND project_members.project_id = r.project_id
                        """, logger: logger)
                }
            }
            return nil
        }
        switch refusal {
        case .some(.some(let outcome)): return outcome
        case .some(.none):
            guard let project = try await project(id: id, userID: userID, at: now) else { return .notFound }
            return .updated(project)
        case .none: return .notFound
        }
    }

    func deleteProject(id: ProjectID, userID: UserID, tasks: ProjectTasksOnDelete, at now: Timestamp) async throws -> ProjectWriteOutcome {
        let outcome = try await database.transaction { connection, logger -> ProjectWriteOutcome in
            let target = try await connection.query(
                """
                SELECT p.is_inbox, m.role FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = \(userID)
                WHERE p.id = \(id) FOR UPDATE OF p
                """, logger: logger)
            var found: (isInbox: Bool, role: ProjectRole?)?
            for try await (isInbox, role) in target.decode((Bool, String).self) { found = (isInbox, ProjectRole(rawValue: role)) }
            guard let found else { return .notFound }
            guard found.role == .owner, !found.isInbox else { return .refused(role: found.role, isInbox: found.isInbox) }
            if tasks == .move {
                _ = try await connection.query(
                    """
                    UPDATE tasks SET project_id = r.inbox, position = r.position, version = version + 1, updated_at = \(now)
                    FROM (
                        SELECT t.id, i.id AS inbox,
                            COALESCE((SELECT max(e.position) FROM tasks e WHERE e.project_id = i.id), 0)
                                + \(ManualOrder.step) * row_number() OVER (ORDER BY t.position, t.id) AS position
                        FROM tasks t JOIN projects i ON i.created_by = \(userID) AND i.is_inbox WHERE t.project_id = \(id)
                    ) r WHERE tasks.id = r.id
                    """, logger: logger)
            } else {
                // Before the project, while its members are: their webhooks hear of each deletion.
                _ = try await connection.query("DELETE FROM tasks WHERE project_id = \(id)", logger: logger)
            }
            _ = try await connection.query("DELETE FROM projects WHERE id = \(id)", logger: logger)
            return .deleted
        }
        if outcome == .deleted { database.announcer.changed() }
        return outcome ?? .notFound
    }

    @Sendable private static func projects(_ rows: PostgresRowSequence) async throws -> [Project] {
        var projects: [Project] = []
        for try await row in rows {
            let (id, name, color, position, archived, isInbox, role, open, overdue, createdAt, updatedAt) = try row.decode(
                (Int64, String, String?, Double, Bool, Bool, String, Int64, Int64, Timestamp, Timestamp).self)
            guard let role = ProjectRole(rawValue: role) else { throw StoreError.invalid("a membership has the role \(role)") }
            projects.append(Project(
                id: id, name: name, color: color, position: position, archived: archived, isInbox: isInbox, role: role,
                openCount: Int(open), overdueCount: Int(overdue), createdAt: createdAt, updatedAt: updatedAt))
        }
        return projects
    }
}

/// Members and invitations. Each change runs in one transaction that first locks the project
/// row: two owners leaving at once are counted one after the other, and one of them stays.
extension PostgresProjectStore {
    /// The caller's role in the project and whether it is an Inbox, the project locked until the
    /// transaction ends; nil when the caller is not a member.
    private static func lockedRole(of userID: UserID, in projectID: ProjectID, on connection: PostgresConnection, logger: Logger)
        async throws -> (role: ProjectRole, isInbox: Bool)?
    {
        let rows = try await connection.query(
            """
            SELECT m.role, p.is_inbox FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = \(userID)
            WHERE p.id = \(projectID) FOR UPDATE OF p
            """, logger: logger)
        for try await (role, isInbox) in rows.decode((String, Bool).self) {
            guard let role = ProjectRole(rawValue: role) else { throw StoreError.invalid("a membership has the role \(role)") }
            return (role, isInbox)
        }
        return nil
    }

    private static func ownerCount(of projectID: ProjectID, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            "SELECT count(*) FROM project_members WHERE project_id = \(projectID) AND role = 'owner'", logger: logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }

    func removeMember(_ member: UserID, projectID: ProjectID, by actor: UserID, at now: Timestamp) async throws -> MembershipOutcome {
        let outcome = try await database.transaction { connection, logger -> MembershipOutcome in
            guard let caller = try await Self.lockedRole(of: actor, in: projectID, on: connection, logger: logger) else { return .notFound }
            guard member == actor || caller.role == .owner else { return .forbidden }
            guard let role = try await Self.role(of: member, in: projectID, on: connection, logger: logger) else { return .noSuchMember }
            if role == .owner, try await Self.ownerCount(of: projectID, on: connection, logger: logger) < 2 { return .lastOwner }
            _ = try await connection.query(
                "DELETE FROM project_members WHERE project_id = \(projectID) AND user_id = \(member)", logger: logger)
            _ = try await connection.query(
                "DELETE FROM webhooks WHERE project_id = \(projectID) AND user_id = \(member)", logger: logger)
            _ = try await connection.query(
                """
                UPDATE tasks SET assignee_id = NULL, version = version + 1, updated_at = \(now)
                WHERE project_id = \(projectID) AND assignee_id = \(member)
                """, logger: logger)
            return .done
        }
        if outcome == .done { database.announcer.changed() }
        return outcome ?? .notFound
    }

    func changeRole(of member: UserID, to role: ProjectRole, projectID: ProjectID, by actor: UserID) async throws -> MembershipOutcome {
        try await database.transaction { connection, logger -> MembershipOutcome in
            guard let caller = try await Self.lockedRole(of: actor, in: projectID, on: connection, logger: logger) else { return .notFound }
            guard caller.role == .owner else { return .forbidden }
            guard let current = try await Self.role(of: member, in: projectID, on: connection, logger: logger) else { return .noSuchMember }
            if current == .owner, role != .owner, try await Self.ownerCount(of: projectID, on: connection, logger: logger) < 2 {
                return .lastOwner
            }
            _ = try await connection.query(
                "UPDATE project_members SET role = \(role.rawValue) WHERE project_id = \(projectID) AND user_id = \(member)", logger: logger)
            return .done
        } ?? .notFound
    }

    func members(projectID: ProjectID, userID: UserID) async throws -> [ProjectMember]? {
        let members = try await database.query(
            """
            SELECT u.id, u.email, u.name, m.role FROM project_members m JOIN users u ON u.id = m.user_id
            WHERE m.project_id = \(projectID)
            AND EXISTS (SELECT 1 FROM project_members c WHERE c.project_id = m.project_id AND c.user_id = \(userID))
            ORDER BY m.created_at, u.email
            """
        ) { rows in
            var members: [ProjectMember] = []
            for try await (id, email, name, role) in rows.decode((String, String, String?, String).self) {
                guard let role = ProjectRole(rawValue: role) else { throw StoreError.invalid("a membership has the role \(role)") }
                members.append(ProjectMember(userID: id, email: email, name: name, role: role))
            }
            return members
        }
        // A project always has a member (its last owner cannot leave): none means not the caller's.
        return members.isEmpty ? nil : members
    }

    func members(ofProjects projectIDs: Set<ProjectID>) async throws -> [ProjectID: Set<UserID>] {
        guard !projectIDs.isEmpty else { return [:] }
        let ids = Array(projectIDs)
        return try await database.query("SELECT project_id, user_id FROM project_members WHERE project_id = ANY(\(ids))") { rows in
            var members: [ProjectID: Set<UserID>] = [:]
            for try await (project, user) in rows.decode((Int64, String).self) { members[project, default: []].insert(user) }
            return members
        }
    }

    func invitations(projectID: ProjectID, userID: UserID) async throws -> [ProjectInvitation]? {
        guard try await role(userID: userID, projectID: projectID) == .owner else { return nil }
        return try await database.query(
            """
            SELECT i.id, i.email, i.role, i.created_at FROM project_invitations i WHERE i.project_id = \(projectID)
            AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = i.project_id AND m.user_id = \(userID) AND m.role = 'owner')
            ORDER BY i.created_at, i.id
            """
        ) { rows in
            var invitations: [ProjectInvitation] = []
            for try await (id, email, role, createdAt) in rows.decode((String, String, String, Timestamp).self) {
                guard let role = ProjectRole(rawValue: role) else { throw StoreError.invalid("an invitation has the role \(role)") }
                invitations.append(ProjectInvitation(id: id, projectID: projectID, email: email, role: role, createdAt: createdAt))
            }
            return invitations
        }
    }

    func invite(_ invitation: NewInvitation, id: String, tokenHash: String, projectID: ProjectID, by actor: UserID, at now: Timestamp)
        async throws -> MembershipOutcome
    {
        try await database.transaction { connection, logger -> MembershipOutcome in
            guard let caller = try await Self.lockedRole(of: actor, in: projectID, on: connection, logger: logger) else { return .notFound }
            guard caller.role == .owner else { return .forbidden }
            guard !caller.isInbox else { return .isInbox }
            let rows = try await connection.query(
                """
                INSERT INTO project_invitations (id, project_id, email, role, invited_by, created_at, user_id, token_hash)
                SELECT \(id), \(projectID), \(invitation.email), \(invitation.role.rawValue), \(actor), \(now),
                       (SELECT u.id FROM users u WHERE u.email = \(invitation.email) AND u.email_proven), \(tokenHash)
                WHERE NOT EXISTS (SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id
                                  WHERE m.project_id = \(projectID) AND u.email = \(invitation.email))
                ON CONFLICT (project_id, email) DO UPDATE SET \(unescaped: ProjectSQL.invitationReplaced)
                RETURNING id
                """, logger: logger)
            return try await PostgresDatabase.hasRows(rows) ? .done : .alreadyMember
        } ?? .notFound
    }

    func receivedInvitations(userID: UserID) async throws -> [ReceivedInvitation] {
        try await database.query(
            """
            SELECT i.id, p.id, p.name, i.role, inviter.name, inviter.email
            FROM project_invitations i JOIN projects p ON p.id = i.project_id JOIN users inviter ON inviter.id = i.invited_by
            WHERE i.user_id = \(userID) ORDER BY i.created_at, i.id
            """
        ) { rows in
            var invitations: [ReceivedInvitation] = []
            for try await (id, projectID, name, role, inviterName, inviterEmail) in rows.decode((String, Int64, String, String, String?, String).self) {
                guard let role = ProjectRole(rawValue: role) else { throw StoreError.invalid("an invitation has the role \(role)") }
                invitations.append(ReceivedInvitation(
                    id: id, projectID: projectID, projectName: name, role: role, inviterName: inviterName, inviterEmail: inviterEmail))
            }
            return invitations
        }
    }

    func acceptInvitation(id: String, userID: UserID, tokenHash: String?, at now: Timestamp) async throws -> ProjectID? {
        try await database.transaction { connection, logger -> ProjectID? in
            let rows = try await connection.query(
                Self.deleteClaimed(id: id, userID: userID, tokenHash: tokenHash, returning: "project_id, role"), logger: logger)
            var accepted: (ProjectID, String)?
            for try await row in rows.decode((Int64, String).self) { accepted = row }
            guard let accepted else { return nil }
            let (projectID, role) = accepted
            _ = try await connection.query(
                """
                INSERT INTO project_members (project_id, user_id, role, position, created_at)
                VALUES (\(projectID), \(userID), \(role),
                        COALESCE((SELECT max(position) FROM project_members WHERE user_id = \(userID)), 0) + \(ManualOrder.step), \(now))
                ON CONFLICT (project_id, user_id) DO NOTHING
                """, logger: logger)
            return projectID
        } ?? nil
    }

    func declineInvitation(id: String, userID: UserID, tokenHash: String?) async throws -> Bool {
        try await database.write(Self.deleteClaimed(id: id, userID: userID, tokenHash: tokenHash, returning: "id"), PostgresDatabase.hasRows)
    }

    /// Deletes the invitation `id` if bound to `userID`, or bound to no one with the link's secret
    /// hashed `tokenHash`.
    private static func deleteClaimed(id: String, userID: UserID, tokenHash: String?, returning columns: String) -> PostgresQuery {
        """
        DELETE FROM project_invitations WHERE id = \(id)
        AND (user_id = \(userID) OR (user_id IS NULL AND token_hash = \(tokenHash)))
        RETURNING \(unescaped: columns)
        """
    }
}
