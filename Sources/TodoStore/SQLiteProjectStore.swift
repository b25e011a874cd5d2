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

    func removeMember(_ userID: UserID, projectID: ProjectID) async throws -> Bool {
        let removed = try await database.transaction { connection -> Bool in
            let binds: [SQLiteData] = [.integer(Int(projectID)), .text(userID)]
            let rows = try await connection.query("DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2 RETURNING user_id", binds)
            _ = try await connection.query("DELETE FROM webhooks WHERE project_id = ?1 AND user_id = ?2", binds)
            return !rows.isEmpty
        }
        return removed ?? false
    }

    func createProject(_ project: NewProject, userID: UserID, at now: Timestamp) async throws -> Project? {
        let id = try await database.transaction { connection -> ProjectID? in
            let rows = try await connection.query(
                """
                INSERT INTO projects (created_by, name, color, archived, is_inbox, created_at, updated_at)
                SELECT ?1, ?2, ?3, 0, 0, ?4, ?4 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) RETURNING id
                """,
                [.text(userID), .text(project.name), project.color.map(SQLiteData.text) ?? .null, SQLiteDatabase.time(now)])
            guard let id = rows.first?.column("id")?.integer else { return nil }
            _ = try await connection.query(
                """
                INSERT INTO project_members (project_id, user_id, role, position, created_at)
                VALUES (?1, ?2, 'owner', COALESCE((SELECT max(position) FROM project_members WHERE user_id = ?2), 0) + \(Int(ManualOrder.step)), ?3)
                """,
                [.integer(id), .text(userID), SQLiteDatabase.time(now)])
            return ProjectID(id)
        }
        guard let id = id ?? nil else { return nil }
        return try await self.project(id: id, userID: userID, at: now)
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
