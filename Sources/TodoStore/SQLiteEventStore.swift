import SQLiteNIO
import TodoCore

/// The event log and reminders on SQLite.
struct SQLiteEventStore: EventStore {
    let database: SQLiteDatabase

    func claimDueReminders(at now: Timestamp, limit: Int) async throws -> [Timestamp] {
        try await database.write(
            """
            UPDATE tasks SET reminded_at = ?1 WHERE id IN (
                SELECT id FROM tasks WHERE remind_at <= ?1 AND reminded_at IS NULL AND completed = 0 ORDER BY remind_at LIMIT ?2)
            RETURNING remind_at
            """,
            [SQLiteDatabase.time(now), .integer(limit)]
        ).compactMap { SQLiteDatabase.time($0.column("remind_at")) }
    }

    func events(after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await database.read(
            "SELECT id, user_id, kind, task_id, project_id, moved_from FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
            [.integer(Int(id)), .integer(limit)]
        ).map(Self.event)
    }

    func events(userID: UserID, after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await database.read(
            """
            SELECT id, user_id, kind, task_id, project_id, moved_from FROM events e WHERE id > ?2 AND (
                (e.project_id IS NULL AND e.user_id = ?1)
                OR ((e.kind <> 'reminder.due' OR e.user_id = ?1) AND EXISTS (
                    SELECT 1 FROM project_members m WHERE m.user_id = ?1 AND m.project_id IN (e.project_id, e.moved_from))))
            ORDER BY id LIMIT ?3
            """,
            [.text(userID), .integer(Int(id)), .integer(limit)]
        ).map(Self.event)
    }

    func events(projectID: ProjectID, after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await database.read(
            """
            SELECT id, user_id, kind, task_id, project_id, moved_from FROM events WHERE (project_id = ?1 OR moved_from = ?1) AND id > ?2
            ORDER BY id LIMIT ?3
            """, [.integer(Int(projectID)), .integer(Int(id)), .integer(limit)]
        ).map(Self.event)
    }

    func latestEventID() async throws -> Int64 {
        Int64(try await database.read("SELECT COALESCE(MAX(id), 0) AS id FROM events").first?.column("id")?.integer ?? 0)
    }

    func latestEventID(projectID: ProjectID) async throws -> Int64 {
        let latest = try await database.read(
            """
            SELECT MAX(COALESCE((SELECT MAX(id) FROM events WHERE project_id = ?1), 0),
                COALESCE((SELECT MAX(id) FROM events WHERE moved_from = ?1), 0)) AS id
            """, [.integer(Int(projectID))])
        return Int64(latest.first?.column("id")?.integer ?? 0)
    }

    func oldestEventID() async throws -> Int64? {
        try await database.read("SELECT MIN(id) AS id FROM events").first?.column("id")?.integer.map(Int64.init)
    }

    func pruneEvents(before time: Timestamp) async throws {
        _ = try await database.write("DELETE FROM events WHERE created_at < ?1", [SQLiteDatabase.time(time)])
    }

    /// One process owns a SQLite file, so no other process writes events: nothing to listen to.
    func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws {
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    private static func event(_ row: SQLiteRow) throws -> TaskEvent {
        guard let id = row.column("id")?.integer, let userID = row.column("user_id")?.string,
              let kind = row.column("kind")?.string.flatMap(EventKind.init(rawValue:)), let taskID = row.column("task_id")?.integer
        else { throw StoreError.invalid("malformed events row") }
        return TaskEvent(
            id: Int64(id), userID: userID, kind: kind, taskID: TaskID(taskID), projectID: row.column("project_id")?.integer.map(ProjectID.init),
            movedFrom: row.column("moved_from")?.integer.map(ProjectID.init))
    }
}
