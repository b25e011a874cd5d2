import Foundation
import Testing
import TodoCore
@testable import TodoWeb

/// How dates, tasks and list filters are presented, read on Monday 2026-11-23 at 15:00 UTC.
@Suite struct PresenterTests {
    static let now = Timestamp(rfc3339: "2026-11-23T15:00:00Z")!

    static func calendar(_ zone: String = "UTC") -> Calendar {
        PageSupport.calendar(TimeZone(identifier: zone)!)
    }

    static func label(_ due: String, completed: Bool = false, zone: String = "UTC") -> DueLabel {
        DueLabel(Timestamp(rfc3339: due)!, completed: completed, now: now, calendar: calendar(zone))
    }

    @Test(arguments: [
        ("2026-11-23T18:30:00Z", "Today 18:30"),
        ("2026-11-24T09:00:00Z", "Tomorrow 09:00"),
        ("2026-11-25T09:00:00Z", "Wednesday 09:00"),
        ("2026-11-29T23:59:00Z", "Sunday 23:59"),
        ("2026-11-30T09:00:00Z", "30 Nov 09:00"),
        ("2027-01-10T09:00:00Z", "10 Jan 2027 09:00"),
        ("2026-11-22T09:00:00Z", "Overdue · Yesterday 09:00"),
        ("2026-11-20T09:00:00Z", "Overdue · 3 days ago"),
        ("2026-11-17T09:00:00Z", "Overdue · 6 days ago"),
        ("2026-11-16T09:00:00Z", "Overdue · 16 Nov 09:00"),
        ("2025-11-23T09:00:00Z", "Overdue · 23 Nov 2025 09:00"),
    ])
    func aDueDateIsNamedRelativeToToday(_ due: String, _ text: String) {
        #expect(Self.label(due).text == text)
    }

    @Test func aDueTimeEarlierTodayIsOverdueAndNotMarkedAsToday() {
        let label = Self.label("2026-11-23T09:00:00Z")
        #expect(label.text == "Overdue · Today 09:00")
        #expect(label.overdue && !label.today)
        let later = Self.label("2026-11-23T18:00:00Z")
        #expect(!later.overdue && later.today)
    }

    @Test func aCompletedTaskIsNeverOverdueNorMarkedAsToday() {
        let label = Self.label("2026-11-22T09:00:00Z", completed: true)
        #expect(label.text == "Yesterday 09:00")
        #expect(!label.overdue && !label.today)
        #expect(!Self.label("2026-11-23T18:00:00Z", completed: true).today)
    }

    @Test func daysAreCountedInTheUsersTimeZone() {
        // 23:30 UTC on Monday is 00:30 on Tuesday in Berlin.
        #expect(Self.label("2026-11-23T23:30:00Z").text == "Today 23:30")
        #expect(Self.label("2026-11-23T23:30:00Z", zone: "Europe/Berlin").text == "Tomorrow 00:30")
        // 07:00 UTC on Tuesday is still Monday evening in Los Angeles, where it is 07:00 now.
        #expect(Self.label("2026-11-24T07:00:00Z", zone: "America/Los_Angeles").text == "Today 23:00")
    }

    @Test func theLabelCarriesTheInstantAndTheFullDateWithItsZone() {
        let label = Self.label("2026-11-24T08:05:00Z", zone: "Europe/Berlin")
        #expect(label.iso == "2026-11-24T08:05:00.000Z")
        #expect(label.full == "Tuesday 24 November 2026, 09:05 (Europe/Berlin)")
    }

    @Test func aDateTimeInputValueIsReadAndWrittenAsWallClockTimeInTheZone() {
        let berlin = LocalClock(calendar: Self.calendar("Europe/Berlin"))
        #expect(berlin.inputValue(Timestamp(rfc3339: "2026-11-24T08:00:00Z")!) == "2026-11-24T09:00")
        #expect(berlin.instant(fromInput: "2026-11-24T09:00") == Timestamp(rfc3339: "2026-11-24T08:00:00Z"))
        // Summer time: two hours ahead.
        #expect(berlin.instant(fromInput: "2026-07-01T09:00") == Timestamp(rfc3339: "2026-07-01T07:00:00Z"))
        #expect(berlin.instant(fromInput: "2026-07-01T09:00:30") == Timestamp(rfc3339: "2026-07-01T07:00:00Z"))
        for text in ["", "tomorrow", "2026-11-24", "2026-11-24T", "2026-xx-24T09:00"] {
            #expect(berlin.instant(fromInput: text) == nil, "\(text)")
        }
    }

    @Test func startOfDayIsMidnightInTheZone() {
        let berlin = LocalClock(calendar: Self.calendar("Europe/Berlin"))
        #expect(berlin.startOfDay(Self.now) == Timestamp(rfc3339: "2026-11-22T23:00:00Z"))
        #expect(berlin.startOfDay(Self.now, addingDays: 7) == Timestamp(rfc3339: "2026-11-29T23:00:00Z"))
    }

    // MARK: Task rows

    static func task(_ fields: TaskFields) -> TodoTask {
        TodoTask(id: 42, userID: "u", fields: fields, completedAt: nil, version: 1, createdAt: now, updatedAt: now)
    }

    @Test func aRowShowsTheFirstLineOfTheDescriptionCutAt140Characters() {
        let long = String(repeating: "a", count: 150) + "\nsecond line"
        let row = TaskRow(Self.task(TaskFields(title: "T", description: long)), now: Self.now, calendar: Self.calendar())
        #expect(row.description == String(repeating: "a", count: 140) + "…")
        #expect(row.hasDescription)
        let short = TaskRow(Self.task(TaskFields(title: "T", description: "One line\nTwo")), now: Self.now, calendar: Self.calendar())
        #expect(short.description == "One line")
        #expect(!TaskRow(Self.task(TaskFields(title: "T")), now: Self.now, calendar: Self.calendar()).hasDescription)
    }

    @Test func aRowLinksItsTagsToTheirFilterAndNamesItsPriorityRepetitionAndReminder() {
        let fields = TaskFields(
            title: "Water", priority: .high, tags: ["home", "c++"], dueAt: Timestamp(rfc3339: "2026-11-24T09:00:00Z"),
            remindAt: Timestamp(rfc3339: "2026-11-24T08:50:00Z"), recurrence: Recurrence(frequency: .weekly, interval: 2))
        let row = TaskRow(Self.task(fields), now: Self.now, calendar: Self.calendar())
        #expect(row.tags.map(\.href) == ["/?tag=home&status=all", "/?tag=c%2B%2B&status=all"])
        #expect(row.priorityLabel == "High priority" && row.hasPriority)
        #expect(row.repeats == "Every 2 weeks")
        #expect(row.reminder == "Reminder Tomorrow 08:50")
        #expect(row.toggleLabel == "Complete “Water”" && row.nextCompleted == "true")
        #expect(row.editHref == "/tasks/42")
    }

    @Test func aCompletedRowOffersToReopenAndShowsNoReminder() {
        let fields = TaskFields(title: "Water", completed: true, remindAt: Timestamp(rfc3339: "2026-11-24T08:50:00Z"))
        let row = TaskRow(Self.task(fields), now: Self.now, calendar: Self.calendar())
        #expect(row.reminder == nil)
        #expect(row.toggleLabel == "Mark “Water” as not done" && row.nextCompleted == "false")
        #expect(row.priorityLabel == "No priority" && !row.hasPriority)
    }

    @Test(arguments: [
        (Recurrence.Frequency.daily, 1, "Every day"), (.weekly, 1, "Every week"), (.monthly, 3, "Every 3 months"), (.yearly, 1, "Every year"),
    ])
    func aRepetitionIsDescribedInWords(_ frequency: Recurrence.Frequency, _ interval: Int, _ text: String) {
        #expect(TaskRow.describe(Recurrence(frequency: frequency, interval: interval)) == text)
    }

    // MARK: List filters

    @Test func filtersFromTheAddressFallBackToTheirDefaultsAndNormalizeTheTag() {
        let filters = ListFilters(FormData(urlEncoded: "status=bogus&sort=-priority&tag=%23Home&q=+milk+&priority=urgent&due=week"))
        #expect(filters.status == "pending")
        #expect(filters.sort == "-priority")
        #expect(filters.tag == "home")
        #expect(filters.search == "milk")
        #expect(filters.priority == "")
        #expect(filters.due == "week")
        #expect(filters.isFiltered)
        #expect(filters.path == "/?q=milk&tag=home&due=week&sort=-priority")
        #expect(!ListFilters(FormData()).isFiltered)
        #expect(ListFilters(FormData()).path == "/")
    }

    @Test func aProjectsListStartsInItsManualOrderWhichOtherListsDoNotOffer() {
        let project = ListFilters(FormData(urlEncoded: "project=7"))
        #expect(project.sort == "position" && project.showsManualOrder && project.path == "/?project=7")
        #expect(ListFilters(FormData(urlEncoded: "project=7&sort=due")).path == "/?sort=due&project=7")
        #expect(!ListFilters(FormData(urlEncoded: "project=7&q=milk")).showsManualOrder)
        #expect(!ListFilters(FormData(urlEncoded: "project=7&cursor=abc")).showsManualOrder)
        let everything = ListFilters(FormData(urlEncoded: "sort=position"))
        #expect(everything.sort == "due" && !everything.showsManualOrder)
    }

    @Test func eachRowMovesAmongItsSiblingsToTheMidpointOfItsNewNeighboursOrAStepPastTheEnd() {
        func task(_ id: TaskID, at position: Double, parent: TaskID? = nil) -> TodoTask {
            var task = Self.task(TaskFields(title: "T\(id)"))
            task.id = id
            task.position = position
            task.parentID = parent
            return task
        }
        let tasks = [task(1, at: 1024), task(2, at: 2048), task(3, at: 2100, parent: 2), task(4, at: 3072), task(5, at: 4096)]
        let rows = TaskRow.inManualOrder(TaskRow.nested(tasks, rows: tasks.map { TaskRow($0, now: Self.now, calendar: Self.calendar()) }))
        let moves = rows.map { row in row.moves.map { "\($0.direction) \($0.position)" } }
        #expect(rows.map(\.id) == ["1", "2", "3", "4", "5"])
        #expect(moves == [["down 2560.0"], ["up 0.0", "down 3584.0"], [], ["up 1536.0", "down 5120.0"], ["up 2560.0"]])
        #expect(rows.allSatisfy { $0.orderable })
        #expect(rows[1].moves[0].label == "Move “T2” up")
        #expect(rows.map(\.parentHref) == [nil, nil, nil, nil, nil], "every parent is on the page")
        let lastPage = TaskRow.nested(Array(tasks.suffix(3)), rows: tasks.suffix(3).map { TaskRow($0, now: Self.now, calendar: Self.calendar()) })
        #expect(lastPage.map(\.parentHref) == ["/tasks/2", nil, nil], "a sub-task whose parent is on another page links to it")
        #expect(lastPage.map(\.depth) == [0, 0, 0])
    }

    @Test func dueFiltersBecomeRangesOfWholeDaysInTheUsersZone() throws {
        let clock = LocalClock(calendar: Self.calendar("Europe/Berlin"))
        let today = try ListFilters(FormData(urlEncoded: "due=today")).taskQuery(now: Self.now, clock: clock, limit: 50)
        #expect(today.dueAfter == Timestamp(rfc3339: "2026-11-22T23:00:00Z"))
        #expect(today.dueBefore == Timestamp(rfc3339: "2026-11-23T23:00:00Z"))
        let week = try ListFilters(FormData(urlEncoded: "due=week")).taskQuery(now: Self.now, clock: clock, limit: 50)
        #expect(week.dueBefore == Timestamp(rfc3339: "2026-11-29T23:00:00Z"))
        let overdue = try ListFilters(FormData(urlEncoded: "due=overdue&status=all")).taskQuery(now: Self.now, clock: clock, limit: 50)
        #expect(overdue.dueAfter == nil && overdue.dueBefore == Self.now)
        #expect(overdue.status == .all)
        #expect(overdue.sort == TaskQuery.Sort(field: .due, descending: false))
    }

    @Test func aTagOrCursorTheBackendWouldRefuseFailsWithTheBackendsMessage() {
        let clock = LocalClock(calendar: Self.calendar())
        #expect(throws: ValidationError.self) {
            try ListFilters(FormData(urlEncoded: "tag=two+words")).taskQuery(now: Self.now, clock: clock, limit: 50)
        }
        do {
            _ = try ListFilters(FormData(urlEncoded: "cursor=forged")).taskQuery(now: Self.now, clock: clock, limit: 50)
            Issue.record("a forged cursor was accepted")
        } catch {
            #expect(error.issues.map(\.field) == ["cursor"])
        }
    }

    // MARK: Edit form helpers and messages

    @Test(arguments: [
        ("home, Work #errands  home ,,", ["home", "work", "errands"]),
        ("", []),
        ("#", []),
        ("ÄRGER", ["ärger"]),
    ])
    func theTagsFieldIsSplitOnCommasAndSpacesWithoutHashesOrRepeats(_ text: String, _ tags: [String]) {
        #expect(TaskPages.tags(text) == tags)
    }

    @Test func validationMessagesNameTheFieldAsTheFormLabelsIt() {
        let issues = [
            FieldIssue(field: "title", message: "must be 1 to 200 characters"),
            FieldIssue(field: "recurrence.interval", message: "must be a whole number from 1 to 999"),
            FieldIssue(field: "due_at", message: "must be an RFC 3339 time"),
        ]
        #expect(PageSupport.messages(issues, message: "ignored") == [
            "Title must be 1 to 200 characters.", "Repeat must be a whole number from 1 to 999.", "Due must be an RFC 3339 time.",
        ])
        #expect(PageSupport.messages([], message: "the task is changing too often") == ["The task is changing too often"])
    }
}
