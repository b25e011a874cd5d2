import Foundation
import Testing
import TodoCore
import TodoImport

/// Todoist's project CSV, read on Monday 2026-11-23 at 15:00 UTC.
@Suite struct TodoistCSVTests {
    static let now = Timestamp(rfc3339: "2026-11-23T15:00:00Z")!
    static let header = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG"

    static func read(_ rows: [String], header: String = header) throws(ValidationError) -> TodoistCSV.Plan {
        try TodoistCSV.read(([header] + rows).joined(separator: "\r\n") + "\r\n", now: now, timeZone: TimeZone(identifier: "UTC")!)
    }

    @Test func anExportBecomesTasksWithSubTasksPrioritiesTagsAndDates() throws {
        let plan = try Self.read([
            "task,Buy groceries @errands @Home,,1,1,Sam (123),,every friday,en,Europe/Berlin,,,,",
            "task,Milk,\"2 litres, oat\",4,2,Sam (123),,,en,Europe/Berlin,,,,",
            "note,Check the date on the carton,,,,Sam (123),,,,,,,,",
            "task,Oat or soy?,,3,3,Sam (123),,,en,,,,,",
            "task,Bread,,2,2,Sam (123),,dec 5 8pm,en,Europe/Berlin,,,,",
            ",,,,,,,,,,,,,",
            "task,File taxes,\"Line one\nline two\",,1,Sam (123),,2027-04-30,en,UTC,,,,",
        ])
        #expect(plan.notMapped == [])
        #expect(plan.tasks.map(\.fields.title) == ["Buy groceries", "Milk", "Oat or soy?", "Bread", "File taxes"])
        #expect(plan.tasks.map(\.parent) == [nil, 0, 1, 0, nil])
        #expect(plan.tasks.map(\.row) == [2, 3, 5, 6, 8])
        #expect(plan.tasks.map(\.fields.priority) == [.high, .none, .low, .medium, .none])
        #expect(plan.tasks[0].fields.tags == ["errands", "home"])
        #expect(plan.tasks[0].fields.recurrence?.frequency == .weekly)
        #expect(plan.tasks[0].fields.recurrence?.timezone == "Europe/Berlin")
        #expect(plan.tasks[0].fields.dueAt?.rfc3339 == "2026-11-27T08:00:00.000Z")
        #expect(plan.tasks[1].fields.description == "2 litres, oat\n\nCheck the date on the carton")
        #expect(plan.tasks[3].fields.dueAt?.rfc3339 == "2026-12-05T19:00:00.000Z")
        #expect(plan.tasks[4].fields.description == "Line one\nline two")
        #expect(plan.tasks[4].fields.dueAt?.rfc3339 == "2027-04-30T09:00:00.000Z")
    }

    @Test func whatHasNoPlaceHereIsReportedWithItsRowsAndTheRestImported() throws {
        let plan = try Self.read([
            "section,Later,,,,,,,,,,,,",
            "task,Renew passport,,2,1,Sam (123),Alex (456),someday maybe,en,Europe/Berlin,30,minute,2026-12-24,en",
            "task,Photos,,9,3,Sam (123),,,en,,,,,",
            "task,Level 3,,,3,,,,,,,,,",
            "task,Level 4,,,4,,,,,,,,,",
            "task,Level 5,,,5,,,,,,,,,",
            "comment,What is this,,,,,,,,,,,,",
        ])
        #expect(plan.tasks.map(\.fields.title) == ["Renew passport", "Photos", "Level 3", "Level 4", "Level 5"])
        #expect(plan.tasks.map(\.parent) == [nil, 0, 1, 2, 2])
        #expect(plan.tasks[0].fields.dueAt == nil)
        #expect(plan.tasks[1].fields.priority == .none)
        #expect(plan.notMapped == [
            "Sections are not kept; the tasks under them are imported (row 2).",
            "Assignees (RESPONSIBLE) are not imported (row 3).",
            "Durations are not kept (row 3).",
            "Deadlines are not kept; the DATE is the due date (row 3).",
            "Dates that could not be read; these tasks have no due date (row 3).",
            "PRIORITY not 1 to 4; these tasks have no priority (row 4).",
            "INDENT that skips a level is read as one level below the task above, and one that is not a number as the top (row 4).",
            "Sub-tasks nested deeper than 4 levels are placed at the fourth (row 7).",
            "Rows whose TYPE is not task, section or note are skipped (row 8).",
        ])
    }

    @Test func columnsAreFoundByNameInAnyOrderAndOnlyTypeAndContentAreNeeded() throws {
        let plan = try Self.read(["Pay rent @home,task"], header: "\u{FEFF}content, type")
        #expect(plan.tasks.map(\.fields.title) == ["Pay rent"])
        #expect(plan.tasks[0].fields.tags == ["home"])
    }

    @Test func aFileThatIsNotATodoistExportFailsWhole() {
        #expect(throws: ValidationError(field: "file", "is not a Todoist CSV export: its first row must name the TYPE and CONTENT columns")) {
            try TodoistCSV.read("title,due\nBuy milk,tomorrow\n", now: Self.now, timeZone: TimeZone(identifier: "UTC")!)
        }
        #expect(throws: ValidationError.self) { try TodoistCSV.read("", now: Self.now, timeZone: TimeZone(identifier: "UTC")!) }
        #expect(throws: ValidationError(field: "file", "cannot be read as CSV: a quoted field is not closed")) {
            try Self.read(["task,\"Unclosed,,,,,,,,,,,,", "task,Swallowed,,,,,,,,,,,,"])
        }
    }

    @Test func aTaskWithoutATitleFailsTheWholeFileNamingEveryRow() {
        #expect(throws: ValidationError([
            FieldIssue(field: "rows[3].CONTENT", message: "is empty: a task needs a title"),
            FieldIssue(field: "rows[4].CONTENT", message: "is empty: a task needs a title"),
        ])) {
            try Self.read(["task,Fine,,,,,,,,,,,,", "task,,,,,,,,,,,,,", "task,@only-a-label,,,,,,,,,,,,"])
        }
    }

    @Test func overlongTextIsCutAndReportedAndCommentsThatDoNotFitAreLeftOut() throws {
        let long = String(repeating: "a", count: 900)
        let plan = try Self.read([
            "task,\(String(repeating: "t", count: 250)),\(String(repeating: "d", count: 1200)),,,,,,,,,,,",
            "task,Second,\(long),,,,,,,,,,,",
            "note,\(long),,,,,,,,,,,,",
            "note,short,,,,,,,,,,,,",
        ])
        #expect(plan.tasks[0].fields.title.count == 200)
        #expect(plan.tasks[0].fields.description.count == 1000)
        #expect(plan.tasks[1].fields.description == long + "\n\nshort")
        #expect(plan.notMapped == [
            "Titles longer than 200 characters are cut (row 2).",
            "Descriptions longer than 1000 characters are cut (row 2).",
            "Comments that would make a description longer than 1000 characters are left out (row 4).",
        ])
    }

    @Test func aReportNamesTenRowsAndCountsTheRest() throws {
        let rows = (1...12).map { "task,Task \($0),,,,,Alex (456),,,,,,," }
        let plan = try Self.read(rows)
        #expect(plan.notMapped == ["Assignees (RESPONSIBLE) are not imported (rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more)."])
    }
}
