import PostgresNIO
import TodoCore

/// CalDAV objects as rows of `calendar_objects`.
struct PostgresCalendarObjectStore: CalendarObjectStore {
    let database: PostgresDatabase

    func calendarObjects(userID: UserID) async throws -> [CalendarObject] {
        try await database.query(
            "SELECT task_id, user_id, name, uid, todo_extra, calendar_extra FROM calendar_objects WHERE user_id = \(userID)", Self.objects)
    }

    func saveCalendarObject(_ object: CalendarObject) async throws {
        _ = try await database.transaction { connection, logger in
            _ = try await connection.query(
                "DELETE FROM calendar_objects WHERE user_id = \(object.userID) AND name = \(object.name) AND task_id <> \(object.taskID)",
                logger: logger)
            _ = try await connection.query(
                """
                INSERT INTO calendar_objects (task_id, user_id, name, uid, todo_extra, calendar_extra)
                VALUES (\(object.taskID), \(object.userID), \(object.name), \(object.uid), \(object.todoExtra), \(object.calendarExtra))
                ON CONFLICT (task_id) DO UPDATE SET name = excluded.name, uid = excluded.uid,
                    todo_extra = excluded.todo_extra, calendar_extra = excluded.calendar_extra
                WHERE calendar_objects.user_id = excluded.user_id
                """, logger: logger)
        }
    }

    func pruneCalendarObjects() async throws {
        _ = try await database.write(
            """
            DELETE FROM calendar_objects c WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = c.task_id)
                AND NOT EXISTS (SELECT 1 FROM events e WHERE e.task_id = c.task_id)
            """, PostgresDatabase.hasRows)
    }

    @Sendable private static func objects(_ rows: PostgresRowSequence) async throws -> [CalendarObject] {
        var objects: [CalendarObject] = []
        for try await (taskID, userID, name, uid, todoExtra, calendarExtra) in rows.decode((Int64, String, String, String, String, String).self) {
            objects.append(CalendarObject(taskID: taskID, userID: userID, name: name, uid: uid, todoExtra: todoExtra, calendarExtra: calendarExtra))
        }
        return objects
    }
}
