import SQLiteNIO
import TodoCore

/// Projects on SQLite.
struct SQLiteProjectStore: ProjectStore {
    let database: SQLiteDatabase

    func projects(userID: UserID, at now: Timestamp) async throws -> [Project] {
        try await database.read(ProjectSQL.sqlite.select + ProjectSQL.order, [.text(userID), SQLiteDatabase.time(now)]).map(Self.project)
    }

    func project(id: ProjectID, userID: UserID, at now: Timestamp) async throws -> Project? {
        try await database.read(ProjectSQL.sqlite.select + " AND p.id = ?3", [.text(userID), SQLiteDatabase.time(now), .integer(Int(id))])
            .first.map(Self.project)
    }

    func role(userID: UserID, projectID: ProjectID) async throws -> ProjectRole? {
        try await Self.role(of: userID, in: projectID) { try await database.read($0, $1) }
    }

    private static func role(of userID: UserID, in projectID: ProjectID, _ query: (String, [SQLiteData]) async throws -> [SQLiteRow]) async throws -> ProjectRole? {
        let rows = try await query("SELECT role FROM project_members WHERE project_id = ?1 AND user_id = ?2", [.integer(Int(projectID)), .text(userID)])
        return rows.first?.column("role")?.string.flatMap(ProjectRole.init(rawValue:))
    }

    func setMember(_ userID: UserID, role: ProjectRole, projectID: ProjectID, at now: Timestamp) async throws -> Bool {
        let rows = try await database.write(
            """
            INSERT INTO project_members (project_id, user_id, role, position, created_at)
            SELECT p.id, u.id, ?3, COALESCE((SELECT max(position) FROM project_members WHERE user_id = ?2), 0) + \(Int(ManualOrder.step)), ?4
            FROM projects p, users u WHERE p.id = ?1 AND u.id = ?2
            ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role RETURNING project_id
            """,
            [.integer(Int(projectID)), .text(userID), .text(role.rawValue), SQLiteDatabase.time(now)])
        return !rows.isEmpty
    }

    func createProject(_ project: NewProject, userID: UserID, at now: Timestamp) async throws -> Project? {
        let id = try await database.transaction { connection -> ProjectID? in
            try await Self.insert(.init(name: project.name, color: project.color), userID: userID, at: now, on: connection)
        }
        guard let id = id ?? nil else { return nil }
        return try await self.project(id: id, userID: userID, at: now)
    }

    /// Inserts a project by `userID`, who becomes its owner, after their other projects; nil when
    /// the user does not exist.
    static func insert(_ project: ImportPlan.NewProjectEntry, userID: UserID, at now: Timestamp, on connection: SQLiteConnection) async throws -> ProjectID? {
        let rows = try await connection.query(
            """
            INSERT INTO projects (created_by, name, color, archived, is_inbox, created_at, updated_at)
            SELECT ?1, ?2, ?3, ?5, 0, ?4, ?4 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) RETURNING id
            """,
            [.text(userID), .text(project.name), project.color.map(SQLiteData.text) ?? .null, SQLiteDatabase.time(now), .integer(project.archived ? 1 : 0)])
        guard let id = rows.first?.column("id")?.integer else { return nil }
        _ = try await connection.query(
            """
            INSERT INTO project_members (project_id, user_id, role, position, created_at)
            VALUES (?1, ?2, 'owner', COALESCE((SELECT max(position) FROM project_members WHERE user_id = ?2), 0) + \(Int(ManualOrder.step)), ?3)
            """,
            [.integer(id), .text(userID), SQLiteDatabase.time(now)])
        return ProjectID(id)
    }

    func updateProject(id: ProjectID, userID: UserID, patch: ProjectPatch, at now: Timestamp) async throws -> ProjectWriteOutcome {
        let refusal = try await database.transaction { connection -> ProjectWriteOutcome? in
            let project: SQLiteData = .integer(Int(id))
            if patch.changesProject {
                let color: SQLiteData = patch.color.map { $0.map(SQLiteData.text) ?? .null } ?? .null
                let rows = try await connection.query(
                    """
                    UPDATE projects SET name = COALESCE(?3, name), color = CASE WHEN ?4 THEN ?5 ELSE color END,
                        archived = COALESCE(?6, archived), updated_at = ?7
                    WHERE id = ?1 AND NOT (is_inbox AND COALESCE(?6, 0))
                    AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = projects.id AND m.user_id = ?2 AND m.role = 'owner')
                    RETURNING id
                    """,
                    [project, .text(userID), patch.name.map(SQLiteData.text) ?? .null, .integer(patch.color != nil ? 1 : 0), color,
                     patch.archived.map { .integer($0 ? 1 : 0) } ?? .null, SQLiteDatabase.time(now)])
                if rows.isEmpty {
                    let inbox = try await connection.query("SELECT is_inbox FROM projects WHERE id = ?1", [project]).first?.column("is_inbox")?.bool ?? false
                    return .refused(role: try await Self.role(of: userID, in: id) { try await connection.query($0, $1) }, isInbox: inbox)
                }
            }
            if let position = patch.position {
                let rows = try await connection.query(
                    "UPDATE project_members SET position = ?3 WHERE project_id = ?1 AND user_id = ?2 RETURNING project_id",
                    [project, .text(userID), .float(position)])
                guard !rows.isEmpty else { throw SQLiteDatabase.Rollback() }
                let crowded = try await connection.query(
                    "SELECT 1 FROM project_members WHERE user_id = ?1 AND position = ?2 AND project_id <> ?3 LIMIT 1",
                    [.text(userID), .float(position), project])
                if !crowded.isEmpty {
                    // No room between the neighbours: renumber this member's list, the moved
                    // project just before the one whose position it took (`ManualOrder`).
                    _ = try await connection.query(
                        """
                        UPDATE project_members SET position = (SELECT r.rank FROM (
                            SELECT project_id, \(Int(ManualOrder.step)) * row_number() OVER (ORDER BY position, project_id <> ?2, project_id) AS rank
                            FROM project_members WHERE user_id = ?1) r WHERE r.project_id = project_members.project_id)
                        WHERE user_id = ?1
                        """,
                        [.text(userID), project])
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
        try await database.transaction { connection -> ProjectWriteOutcome in
            let project: SQLiteData = .integer(Int(id))
            let target = try await connection.query(
                """
                SELECT p.is_inbox, m.role FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = ?2 WHERE p.id = ?1
                """,
                [project, .text(userID)])
            guard let row = target.first else { return .notFound }
            let isInbox = row.column("is_inbox")?.bool ?? false
            guard row.column("role")?.string == ProjectRole.owner.rawValue, !isInbox else {
                return .refused(role: row.column("role")?.string.flatMap(ProjectRole.init(rawValue:)), isInbox: isInbox)
            }
            if tasks == .move {
                _ = try await connection.query(
                    """
                    UPDATE tasks SET project_id = r.inbox, position = r.position, version = version + 1, updated_at = ?3
                    FROM (
                        SELECT t.id, i.id AS inbox,
                            COALESCE((SELECT max(e.position) FROM tasks e WHERE e.project_id = i.id), 0)
                                + \(Int(ManualOrder.step)) * row_number() OVER (ORDER BY t.position, t.id) AS position
                        FROM tasks t JOIN projects i ON i.created_by = ?2 AND i.is_inbox WHERE t.project_id = ?1
                    ) r WHERE tasks.id = r.id
                    """,
                    [project, .text(userID), SQLiteDatabase.time(now)])
            } else {
                // Before the project, while its members are: their webhooks hear of each deletion.
                _ = try await connection.query("DELETE FROM tasks WHERE project_id = ?1", [project])
            }
            _ = try await connection.query("DELETE FROM projects WHERE id = ?1", [project])
            return .deleted
        } ?? .notFound
    }

    private static func project(_ row: SQLiteRow) throws -> Project {
        guard let id = row.column("id")?.integer, let name = row.column("name")?.string,
              let role = row.column("role")?.string.flatMap(ProjectRole.init(rawValue:)),
              let createdAt = SQLiteDatabase.time(row.column("created_at")), let updatedAt = SQLiteDatabase.time(row.column("updated_at"))
        else { throw StoreError.invalid("malformed projects row") }
        return Project(
            id: ProjectID(id), name: name, color: row.column("color")?.string, position: row.column("position")?.double ?? 0,
            archived: row.column("archived")?.bool ?? false, isInbox: row.column("is_inbox")?.bool ?? false, role: role,
            openCount: row.column("open_count")?.integer ?? 0, overdueCount: row.column("overdue_count")?.integer ?? 0,
            createdAt: createdAt, updatedAt: updatedAt)
    }
}

/// Members and invitations; SQLite has one writer, so each transaction sees the owners as they are.
extension SQLiteProjectStore {
    private typealias Query = (String, [SQLiteData]) async throws -> [SQLiteRow]

    /// The caller's role in the project and whether it is an Inbox; nil when not a member.
    private static func callerRole(of userID: UserID, in projectID: ProjectID, _ query: Query) async throws -> (role: ProjectRole, isInbox: Bool)? {
        let rows = try await query(
            "SELECT m.role, p.is_inbox FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = ?2 WHERE p.id = ?1",
            [.integer(Int(projectID)), .text(userID)])
        guard let row = rows.first, let role = row.column("role")?.string.flatMap(ProjectRole.init(rawValue:)) else { return nil }
        return (role, row.column("is_inbox")?.bool ?? false)
    }

    private static func ownerCount(of projectID: ProjectID, _ query: Query) async throws -> Int {
        try await query("SELECT count(*) AS owners FROM project_members WHERE project_id = ?1 AND role = 'owner'", [.integer(Int(projectID))])
            .first?.column("owners")?.integer ?? 0
    }

    func removeMember(_ member: UserID, projectID: ProjectID, by actor: UserID, at now: Timestamp) async throws -> MembershipOutcome {
        try await database.transaction { connection -> MembershipOutcome in
            let query: Query = { try await connection.query($0, $1) }
            guard let caller = try await Self.callerRole(of: actor, in: projectID, query) else { return .notFound }
            guard member == actor || caller.role == .owner else { return .forbidden }
            guard let role = try await Self.role(of: member, in: projectID, query) else { return .noSuchMember }
            if role == .owner, try await Self.ownerCount(of: projectID, query) < 2 { return .lastOwner }
            let binds: [SQLiteData] = [.integer(Int(projectID)), .text(member)]
            _ = try await connection.query("DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2", binds)
            _ = try await connection.query("DELETE FROM webhooks WHERE project_id = ?1 AND user_id = ?2", binds)
            _ = try await connection.query(
                "UPDATE tasks SET assignee_id = NULL, version = version + 1, updated_at = ?3 WHERE project_id = ?1 AND assignee_id = ?2",
                binds + [SQLiteDatabase.time(now)])
            return .done
        } ?? .notFound
    }

    func changeRole(of member: UserID, to role: ProjectRole, projectID: ProjectID, by actor: UserID) async throws -> MembershipOutcome {
        try await database.transaction { connection -> MembershipOutcome in
            let query: Query = { try await connection.query($0, $1) }
            guard let caller = try await Self.callerRole(of: actor, in: projectID, query) else { return .notFound }
            guard caller.role == .owner else { return .forbidden }
            guard let current = try await Self.role(of: member, in: projectID, query) else { return .noSuchMember }
            if current == .owner, role != .owner, try await Self.ownerCount(of: projectID, query) < 2 { return .lastOwner }
            _ = try await connection.query(
                "UPDATE project_members SET role = ?3 WHERE project_id = ?1 AND user_id = ?2",
                [.integer(Int(projectID)), .text(member), .text(role.rawValue)])
            return .done
        } ?? .notFound
    }

    func members(projectID: ProjectID, userID: UserID) async throws -> [ProjectMember]? {
        let rows = try await database.read(
            """
            SELECT u.id, u.email, u.name, m.role FROM project_members m JOIN users u ON u.id = m.user_id
            WHERE m.project_id = ?1 AND EXISTS (SELECT 1 FROM project_members c WHERE c.project_id = m.project_id AND c.user_id = ?2)
            ORDER BY m.created_at, u.email
            """,
            [.integer(Int(projectID)), .text(userID)])
        let members = try rows.map { row in
            guard let id = row.column("id")?.string, let email = row.column("email")?.string,
                  let role = row.column("role")?.string.flatMap(ProjectRole.init(rawValue:))
            else { throw StoreError.invalid("malformed project_members row") }
            return ProjectMember(userID: id, email: email, name: row.column("name")?.string, role: role)
        }
        // A project always has a member (its last owner cannot leave): none means not the caller's.
        return members.isEmpty ? nil : members
    }

    func members(ofProjects projectIDs: Set<ProjectID>) async throws -> [ProjectID: Set<UserID>] {
        guard !projectIDs.isEmpty else { return [:] }
        let list = "[" + projectIDs.map(String.init).joined(separator: ",") + "]"
        let rows = try await database.read(
            "SELECT project_id, user_id FROM project_members WHERE project_id IN (SELECT value FROM json_each(?1))", [.text(list)])
        var members: [ProjectID: Set<UserID>] = [:]
        for row in rows {
            guard let project = row.column("project_id")?.integer, let user = row.column("user_id")?.string else { continue }
            members[ProjectID(project), default: []].insert(user)
        }
        return members
    }

    func invitations(projectID: ProjectID, userID: UserID) async throws -> [ProjectInvitation]? {
        guard try await role(userID: userID, projectID: projectID) == .owner else { return nil }
        let rows = try await database.read(
            """
            SELECT i.id, i.email, i.role, i.created_at FROM project_invitations i WHERE i.project_id = ?1
            AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = i.project_id AND m.user_id = ?2 AND m.role = 'owner')
            ORDER BY i.created_at, i.id
            """,
            [.integer(Int(projectID)), .text(userID)])
        return try rows.map { row in
            guard let id = row.column("id")?.string, let email = row.column("email")?.string,
                  let role = row.column("role")?.string.flatMap(ProjectRole.init(rawValue:)), let createdAt = SQLiteDatabase.time(row.column("created_at"))
            else { throw StoreError.invalid("malformed project_invitations row") }
            return ProjectInvitation(id: id, projectID: projectID, email: email, role: role, createdAt: createdAt)
        }
    }

    func invite(_ invitation: NewInvitation, id: String, tokenHash: String, projectID: ProjectID, by actor: UserID, at now: Timestamp)
        async throws -> MembershipOutcome
    {
        try await database.transaction { connection -> MembershipOutcome in
            guard let caller = try await Self.callerRole(of: actor, in: projectID, { try await connection.query($0, $1) }) else { return .notFound }
            guard caller.role == .owner else { return .forbidden }
            guard !caller.isInbox else { return .isInbox }
            let rows = try await connection.query(
                """
                INSERT INTO project_invitations (id, project_id, email, role, invited_by, created_at, user_id, token_hash)
                SELECT ?1, ?2, ?3, ?4, ?5, ?6, (SELECT u.id FROM users u WHERE u.email = ?3 AND u.email_proven), ?7
                WHERE NOT EXISTS (SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ?2 AND u.email = ?3)
                ON CONFLICT (project_id, email) DO UPDATE SET \(ProjectSQL.invitationReplaced)
                RETURNING id
                """,
                [.text(id), .integer(Int(projectID)), .text(invitation.email), .text(invitation.role.rawValue), .text(actor), SQLiteDatabase.time(now),
                 .text(tokenHash)])
            return rows.isEmpty ? .alreadyMember : .done
        } ?? .notFound
    }

    func receivedInvitations(userID: UserID) async throws -> [ReceivedInvitation] {
        let rows = try await database.read(
            """
            SELECT i.id, p.id AS project_id, p.name, i.role, inviter.name AS inviter_name, inviter.email AS inviter_email
            FROM project_invitations i JOIN projects p ON p.id = i.project_id JOIN users inviter ON inviter.id = i.invited_by
            WHERE i.user_id = ?1 ORDER BY i.created_at, i.id
            """,
            [.text(userID)])
        return try rows.map { row in
            guard let id = row.column("id")?.string, let projectID = row.column("project_id")?.integer, let name = row.column("name")?.string,
                  let role = row.column("role")?.string.flatMap(ProjectRole.init(rawValue:)), let email = row.column("inviter_email")?.string
            else { throw StoreError.invalid("malformed project_invitations row") }
            return ReceivedInvitation(
                id: id, projectID: ProjectID(projectID), projectName: name, role: role, inviterName: row.column("inviter_name")?.string,
                inviterEmail: email)
        }
    }

    func acceptInvitation(id: String, userID: UserID, tokenHash: String?, at now: Timestamp) async throws -> ProjectID? {
        try await database.transaction { connection -> ProjectID? in
            let rows = try await connection.query(
                "DELETE FROM project_invitations WHERE \(Self.claimed) RETURNING project_id, role", [.text(id), .text(userID), tokenHash.map(SQLiteData.text) ?? .null])
            guard let row = rows.first, let projectID = row.column("project_id")?.integer, let role = row.column("role")?.string else { return nil }
            _ = try await connection.query(
                """
                INSERT INTO project_members (project_id, user_id, role, position, created_at)
                VALUES (?1, ?2, ?3, COALESCE((SELECT max(position) FROM project_members WHERE user_id = ?2), 0) + \(Int(ManualOrder.step)), ?4)
                ON CONFLICT (project_id, user_id) DO NOTHING
                """,
                [.integer(projectID), .text(userID), .text(role), SQLiteDatabase.time(now)])
            return ProjectID(projectID)
        } ?? nil
    }

    func declineInvitation(id: String, userID: UserID, tokenHash: String?) async throws -> Bool {
        !(try await database.write(
            "DELETE FROM project_invitations WHERE \(Self.claimed) RETURNING id", [.text(id), .text(userID), tokenHash.map(SQLiteData.text) ?? .null])).isEmpty
    }

    /// The invitation `?1`, if bound to `?2`, or bound to no one with the link's secret hashed `?3`.
    private static let claimed = "id = ?1 AND (user_id = ?2 OR (user_id IS NULL AND token_hash = ?3))"
}
