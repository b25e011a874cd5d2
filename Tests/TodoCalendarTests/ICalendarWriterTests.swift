import Testing
import TodoCore

@testable import TodoCalendar

@Suite struct ICalendarWriterTests {
    @Test func textIsEscapedAndLinesEndInCRLF() {
        var writer = ICalendarWriter()
        writer.text("SUMMARY", "Milk, eggs; bread\\butter\nthen call")
        #expect(writer.text == "SUMMARY:Milk\\, eggs\\; bread\\\\butter\\nthen call\r\n")
    }

    @Test func longLinesFoldAt75OctetsWithoutSplittingACharacter() {
        var writer = ICalendarWriter()
        let title = String(repeating: "Grüße 🌍 ", count: 20)
        writer.text("SUMMARY", title)
        let lines = writer.text.components(separatedBy: "\r\n").dropLast()
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.utf8.count <= 75 })
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") })
        // Unfolding (RFC 5545 3.1: remove each CRLF and the space after it) gives the line back.
        #expect(writer.text.replacingOccurrences(of: "\r\n ", with: "") == "SUMMARY:" + title + "\r\n")
    }

    @Test func timesAreUTCWithoutFractions() {
        var writer = ICalendarWriter()
        writer.dateTime("DTSTART", Timestamp(rfc3339: "2026-12-04T09:30:15.250Z")!)
        #expect(writer.text == "DTSTART:20261204T093015Z\r\n")
    }

    @Test func categoriesEscapeEachValue() {
        var writer = ICalendarWriter()
        writer.textList("CATEGORIES", ["home", "a,b"])
        #expect(writer.text == "CATEGORIES:home,a\\,b\r\n")
    }
}

@Suite struct CalendarFeedTests {
    private func task(_ id: TaskID, _ fields: TaskFields) -> TodoTask {
        let now = Timestamp(rfc3339: "2026-12-01T08:00:00.000Z")!
        return TodoTask(id: id, userID: "u", fields: fields, completedAt: nil, version: 1, createdAt: now, updatedAt: now)
    }

    @Test func eachOpenTaskWithADueDateIsAnEventWithItsReminder() {
        let due = Timestamp(rfc3339: "2026-12-05T09:00:00.000Z")!
        let tasks = [
            task(1, TaskFields(title: "Pay rent", description: "to Ann", priority: .high, tags: ["home"], dueAt: due,
                               remindAt: due.adding(milliseconds: -3_600_000))),
            task(2, TaskFields(title: "Someday")),
            task(3, TaskFields(title: "Done", completed: true, dueAt: due)),
        ]
        let document = CalendarFeed.document(calendarName: "Todo: Ann", tasks: tasks, now: due)
        #expect(document.hasPrefix("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && document.hasSuffix("END:VCALENDAR\r\n"))
        #expect(document.components(separatedBy: "BEGIN:VEVENT").count == 2, "only the open task with a due date")
        for line in ["UID:task-1@todo", "DTSTART:20261205T090000Z", "DTEND:20261205T090000Z", "SUMMARY:Pay rent", "DESCRIPTION:to Ann",
                     "CATEGORIES:home", "PRIORITY:1", "BEGIN:VALARM", "TRIGGER;VALUE=DATE-TIME:20261205T080000Z", "X-WR-CALNAME:Todo: Ann"] {
            #expect(document.contains(line + "\r\n"), "\(line)")
        }
    }
}
