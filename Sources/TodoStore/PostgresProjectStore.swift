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

    func removeMember(_ userID: UserID, projectID: ProjectID) async throws -> Bool {
        try await database.write(
            """
            WITH gone AS (DELETE FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID) RETURNING project_id, user_id),
                hooks AS (DELETE FROM webhooks w USING gone WHERE w.project_id = gone.project_id AND w.user_id = gone.user_id)
            SELECT 1 FROM gone
            """,
            PostgresDatabase.hasRows)
    }

    func createProject(_ project: NewProject, userID: UserID, at now: Timestamp) async throws -> Project? {
        let id = try await database.transaction { connection, logger -> ProjectID? in
            let rows = try await connection.query(
                """
                INSERT INTO projects (created_by, name, color, archived, is_inbox, created_at, updated_at)
                SELECT \(userID), \(project.name), \(project.color), false, false, \(now), \(now)
                WHERE EXISTS (SELECT 1 FROM users WHERE id = \(userID)) RETURNING id
                """, logger: logger)
            var id: ProjectID?
            for try await value in rows.decode(Int64.self) { id = value }
            guard let id else { return nil }
            _ = try await connection.query(
                """
                INSERT INTO project_members (project_id, user_id, role, position, created_at)
                VALUES (\(id), \(userID), 'owner',
                        COALESCE((SELECT max(position) FROM project_members WHERE user_id = \(userID)), 0) + \(ManualOrder.step), \(now))
                """, logger: logger)
            return id
        }
        guard let id = id ?? nil else { return nil }
        return try await self.project(id: id, userID: userID, at: now)
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
