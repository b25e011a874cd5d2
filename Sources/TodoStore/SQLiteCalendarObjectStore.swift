import SQLiteNIO
import TodoCore

/// CalDAV objects on SQLite.
struct SQLiteCalendarObjectStore: CalendarObjectStore {
    let database: SQLiteDatabase
    private static let columns = "task_id, user_id, name, uid, todo_extra, calendar_extra"

    func calendarObjects(userID: UserID) async throws -> [CalendarObject] {
        try await database.read("SELECT \(Self.columns) FROM calendar_objects WHERE user_id = ?1", [.text(userID)]).map(Self.object)
    }

    func saveCalendarObject(_ object: CalendarObject) async throws {
        _ = try await database.transaction { connection in
            _ = try await connection.query(
                "DELETE FROM calendar_objects WHERE user_id = ?1 AND name = ?2 AND task_id <> ?3",
                [.text(object.userID), .text(object.name), .integer(Int(object.taskID))])
            _ = try await connection.query(
                """
                INSERT INTO calendar_objects (\(Self.columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                ON CONFLICT (task_id) DO UPDATE SET name = excluded.name, uid = excluded.uid,
                    todo_extra = excluded.todo_extra, calendar_extra = excluded.calendar_extra
                WHERE calendar_objects.user_id = excluded.user_id
                """,
                [.integer(Int(object.taskID)), .text(object.userID), .text(object.name), .text(object.uid), .text(object.todoExtra),
                 .text(object.calendarExtra)])
        }
    }

    func pruneCalendarObjects() async throws {
        _ = try await database.write(
            """
            DELETE FROM calendar_objects WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.id = calendar_objects.task_id)
                AND NOT EXISTS (SELECT 1 FROM events WHERE events.task_id = calendar_objects.task_id)
            """)
    }

    private static func object(_ row: SQLiteRow) throws -> CalendarObject {
        guard let taskID = row.column("task_id")?.integer, let userID = row.column("user_id")?.string, let name = row.column("name")?.string,
            let uid = row.column("uid")?.string
        else { throw StoreError.invalid("malformed calendar_objects row") }
        return CalendarObject(
            taskID: TaskID(taskID), userID: userID, name: name, uid: uid, todoExtra: row.column("todo_extra")?.string ?? "",
            calendarExtra: row.column("calendar_extra")?.string ?? "")
    }
}
