import TodoCore

/// The read-only calendar a user subscribes to in a calendar app: each open task with a due date
/// is an event at that time, with its reminder as an alarm. Calendar apps that only subscribe
/// (Google Calendar, Outlook) show events, not to-dos, hence VEVENT. A recurring task appears as
/// its current occurrence only: the next one exists once this one is completed.
public enum CalendarFeed {
    /// How many tasks a feed holds at most, the soonest due first.
    public static let taskLimit = 2000

    public static func document(calendarName: String, tasks: [TodoTask], now: Timestamp) -> String {
        var writer = ICalendarWriter()
        writer.begin("VCALENDAR")
        writer.property("VERSION", "2.0")
        writer.property("PRODID", "-//todo//calendar feed//EN")
        writer.property("CALSCALE", "GREGORIAN")
        writer.property("METHOD", "PUBLISH")
        writer.text("X-WR-CALNAME", calendarName)
        // How often subscribers should fetch it again (RFC 7986, and the older Apple name).
        writer.property("REFRESH-INTERVAL;VALUE=DURATION", "PT1H")
        writer.property("X-PUBLISHED-TTL", "PT1H")
        for task in tasks {
            guard let due = task.fields.dueAt, !task.fields.completed else { continue }
            event(for: task, due: due, now: now, into: &writer)
        }
        writer.end("VCALENDAR")
        return writer.text
    }

    private static func event(for task: TodoTask, due: Timestamp, now: Timestamp, into writer: inout ICalendarWriter) {
        writer.begin("VEVENT")
        writer.property("UID", "task-\(task.id)@todo")
        writer.dateTime("DTSTAMP", now)
        writer.dateTime("LAST-MODIFIED", task.updatedAt)
        writer.dateTime("DTSTART", due)
        // A task is due at an instant: a zero-length event (RFC 5545 3.6.1 allows it).
        writer.dateTime("DTEND", due)
        writer.text("SUMMARY", task.fields.title)
        if !task.fields.description.isEmpty { writer.text("DESCRIPTION", task.fields.description) }
        if !task.fields.tags.isEmpty { writer.textList("CATEGORIES", task.fields.tags) }
        if let priority = priority(task.fields.priority) { writer.property("PRIORITY", String(priority)) }
        writer.property("TRANSP", "TRANSPARENT")
        if let remindAt = task.fields.remindAt {
            writer.begin("VALARM")
            writer.property("ACTION", "DISPLAY")
            writer.text("DESCRIPTION", task.fields.title)
            writer.dateTime("TRIGGER;VALUE=DATE-TIME", remindAt)
            writer.end("VALARM")
        }
        writer.end("VEVENT")
    }

    /// RFC 5545's 1 (highest) to 9 (lowest), as CalDAV clients read it: 1 high, 5 medium, 9 low.
    static func priority(_ priority: Priority) -> Int? {
        switch priority {
        case .none: nil
        case .low: 9
        case .medium: 5
        case .high: 1
        }
    }
}
