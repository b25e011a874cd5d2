import Testing
import TodoCore

@testable import TodoCalendar

@Suite struct CalendarTodoTests {
    static func object(_ lines: String...) -> String {
        (["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VTODO", "UID:abc-1", "DTSTAMP:20261201T080000Z"] + lines
            + ["END:VTODO", "END:VCALENDAR"]).joined(separator: "\r\n") + "\r\n"
    }

    static func time(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    @Test func modelledPropertiesBecomeTheTaskFields() throws {
        let todo = try CalendarTodo.read(
            Self.object(
                "SUMMARY:Call Anna\\, then Ben", "DESCRIPTION:Line one\\nLine two", "PRIORITY:3", "CATEGORIES:Work,Big Project",
                "CATEGORIES:#urgent", "DUE;TZID=Europe/Berlin:20261205T090000", "STATUS:NEEDS-ACTION"))
        #expect(todo.uid == "abc-1")
        #expect(todo.fields.title == "Call Anna, then Ben")
        #expect(todo.fields.description == "Line one\nLine two")
        #expect(todo.fields.priority == .high)
        #expect(todo.fields.tags == ["work", "big-project", "urgent"])
        #expect(todo.fields.dueAt == Self.time("2026-12-05T08:00:00Z"))
        #expect(!todo.fields.completed)
    }

    @Test func prioritiesMapToThreeLevels() throws {
        let levels = try [0, 1, 4, 5, 6, 9].map { try CalendarTodo.read(Self.object("SUMMARY:x", "PRIORITY:\($0)")).fields.priority }
        #expect(levels == [.none, .high, .high, .medium, .low, .low])
    }

    @Test func completionIsReadFromStatusCompletedOrPercent() throws {
        #expect(try CalendarTodo.read(Self.object("SUMMARY:x", "STATUS:COMPLETED")).fields.completed)
        #expect(try CalendarTodo.read(Self.object("SUMMARY:x", "COMPLETED:20261201T090000Z")).fields.completed)
        #expect(try CalendarTodo.read(Self.object("SUMMARY:x", "PERCENT-COMPLETE:100")).fields.completed)
        #expect(try !CalendarTodo.read(Self.object("SUMMARY:x", "STATUS:NEEDS-ACTION", "COMPLETED:20261201T090000Z")).fields.completed)
    }

    @Test func ruleAndRelativeAlarmMapToRecurrenceAndReminder() throws {
        let todo = try CalendarTodo.read(
            Self.object(
                "SUMMARY:Report", "DUE:20261207T170000Z", "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=5;WKST=MO", "BEGIN:VALARM", "ACTION:DISPLAY",
                "TRIGGER;RELATED=END:-PT1H30M", "END:VALARM"))
        #expect(todo.fields.recurrence == Recurrence(frequency: .weekly, interval: 2, count: 5))
        #expect(todo.fields.remindAt == Self.time("2026-12-07T15:30:00Z"))
        #expect(todo.todoExtra.isEmpty)
    }

    @Test func aRuleWeCannotFollowIsKeptAndTheTaskDoesNotRepeat() throws {
        let todo = try CalendarTodo.read(Self.object("SUMMARY:Gym", "DUE:20261207T170000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"))
        #expect(todo.fields.recurrence == nil)
        #expect(todo.todoExtra == "RRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\n")
    }

    @Test func unknownPropertiesAndComponentsAreKeptByteForByte() throws {
        let folded = "X-LONG-NOTE:" + String(repeating: "a", count: 70) + "\r\n  continued"
        let todo = try CalendarTodo.read(
            Self.object(
                "SUMMARY:x", "X-APPLE-SORT-ORDER:12", folded, "DTSTART;TZID=Europe/Paris:20261201T100000", "SEQUENCE:3", "BEGIN:X-THING",
                "X-A:1", "END:X-THING"))
        #expect(todo.todoExtra == "X-APPLE-SORT-ORDER:12\r\n\(folded)\r\nDTSTART;TZID=Europe/Paris:20261201T100000\r\nSEQUENCE:3\r\nBEGIN:X-THING\r\nX-A:1\r\nEND:X-THING\r\n")
        let task = TodoTask.new(todo.fields, userID: "u", at: Self.time("2026-12-01T00:00:00Z"))
        let written = CalendarTodo.document(for: task, uid: todo.uid, todoExtra: todo.todoExtra)
        #expect(written.contains("\r\n" + folded + "\r\n"))
        #expect(written.contains("\r\nBEGIN:X-THING\r\nX-A:1\r\nEND:X-THING\r\n"))
    }

    @Test func writtenObjectReadsBackToTheSameFields() throws {
        let fields = TaskFields(
            title: "Pay rent; then relax", description: "Bank\nTransfer", priority: .medium, tags: ["home", "money"],
            dueAt: Self.time("2026-12-31T09:00:00Z"), remindAt: Self.time("2026-12-31T08:00:00Z"),
            recurrence: Recurrence(frequency: .monthly, interval: 1, until: Self.time("2027-06-30T00:00:00Z"), count: nil))
        let task = TodoTask.new(fields, userID: "u", at: Self.time("2026-12-01T00:00:00Z"))
        let read = try CalendarTodo.read(CalendarTodo.document(for: task, uid: CalendarTodo.defaultUID(for: 7)))
        #expect(read.fields == fields)
        #expect(read.uid == "task-7@todo")
    }

    /// RFC 5545 3.2.15: RELTYPE=PARENT is the default; other relations stay the client's.
    @Test func relatedToNamesTheParentBothWays() throws {
        #expect(try CalendarTodo.read(Self.object("SUMMARY:x", "RELATED-TO;RELTYPE=PARENT:parent-1")).parentUID == "parent-1")
        #expect(try CalendarTodo.read(Self.object("SUMMARY:x", "RELATED-TO:parent-2")).parentUID == "parent-2")
        let sibling = try CalendarTodo.read(Self.object("SUMMARY:x", "RELATED-TO;RELTYPE=SIBLING:other"))
        #expect(sibling.parentUID == nil && sibling.todoExtra == "RELATED-TO;RELTYPE=SIBLING:other\r\n")
        #expect(try CalendarTodo.read(Self.object("SUMMARY:x")).parentUID == nil)
        let task = TodoTask.new(TaskFields(title: "x"), userID: "u", at: Self.time("2026-12-01T00:00:00Z"))
        let written = CalendarTodo.document(for: task, uid: "child", parentUID: "parent\\1")
        #expect(written.contains("\r\nRELATED-TO;RELTYPE=PARENT:parent\\\\1\r\n"))
        #expect(try CalendarTodo.read(written).parentUID == "parent\\1")
    }

    @Test func anEventInTheTasksCalendarIsRefused() {
        let event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        #expect(throws: CalendarObjectError.unsupportedComponent("VEVENT")) { try CalendarTodo.read(event) }
    }

    @Test func malformedTextIsRefused() {
        for text in [
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:x\r\nEND:VCALENDAR\r\n", "SUMMARY:outside\r\n", "BEGIN:VCALENDAR\r\nno colon here\r\nEND:VCALENDAR\r\n",
            Self.object("SUMMARY:x").replacingOccurrences(of: "UID:abc-1\r\n", with: ""),
        ] {
            #expect(throws: CalendarObjectError.self) { try CalendarTodo.read(text) }
        }
    }

    @Test func durationsAndTimesParse() {
        #expect(ICalendarTime.duration("-PT15M") == -900_000)
        #expect(ICalendarTime.duration("P1DT2H") == 93_600_000)
        #expect(ICalendarTime.duration("P1W") == 604_800_000)
        #expect(ICalendarTime.duration("PT") == nil)
        #expect(ICalendarTime.instant("20261204", timeZone: nil) == Self.time("2026-12-04T00:00:00Z"))
        #expect(ICalendarTime.instant("20260704T120000", timeZone: "America/New_York") == Self.time("2026-07-04T16:00:00Z"))
        #expect(ICalendarTime.instant("2026-12-04", timeZone: nil) == nil)
    }
}
