import Testing
import TodoCore

func time(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

/// A task due at `due`, repeating by `recurrence`, completed through `count` occurrences:
/// the due dates of the occurrences that follow, in order.
func followingDueDates(_ due: String, _ recurrence: Recurrence, occurrences count: Int) -> [String] {
    var task = TodoTask.new(TaskFields(title: "t", dueAt: time(due), recurrence: recurrence), userID: "u", at: time(due))
    var dates: [String] = []
    for _ in 0..<count {
        guard let (fields, series) = task.nextOccurrence() else { break }
        dates.append(fields.dueAt!.rfc3339)
        task = TodoTask.new(fields, userID: "u", at: time(due))
        task.series = series
    }
    return dates
}

@Suite struct RecurrenceTests {
    @Test func monthlyOnThe31stUsesTheLastDayOfShortMonthsWithoutDrifting() {
        #expect(followingDueDates("2026-01-31T09:00:00Z", Recurrence(frequency: .monthly), occurrences: 4) == [
            "2026-02-28T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-04-30T09:00:00.000Z", "2026-05-31T09:00:00.000Z",
        ])
    }

    @Test func monthlyInALeapYearLandsOnFebruary29() {
        #expect(followingDueDates("2028-01-31T09:00:00Z", Recurrence(frequency: .monthly), occurrences: 1) == ["2028-02-29T09:00:00.000Z"])
    }

    @Test func yearlyFromFebruary29ComesBackInLeapYears() {
        #expect(followingDueDates("2024-02-29T12:00:00Z", Recurrence(frequency: .yearly), occurrences: 4) == [
            "2025-02-28T12:00:00.000Z", "2026-02-28T12:00:00.000Z", "2027-02-28T12:00:00.000Z", "2028-02-29T12:00:00.000Z",
        ])
    }

    @Test func dailyKeepsTheLocalTimeAcrossDaylightSavingChanges() {
        // 09:00 in Berlin is 08:00Z in winter and 07:00Z in summer (clocks change on 2026-03-29).
        let berlin = Recurrence(frequency: .daily, timezone: "Europe/Berlin")
        #expect(followingDueDates("2026-03-28T08:00:00Z", berlin, occurrences: 2) == ["2026-03-29T07:00:00.000Z", "2026-03-30T07:00:00.000Z"])
        // And back in autumn (2026-10-25).
        #expect(followingDueDates("2026-10-24T07:00:00Z", berlin, occurrences: 1) == ["2026-10-25T08:00:00.000Z"])
    }

    @Test func weeklyInUTCIgnoresDaylightSaving() {
        #expect(followingDueDates("2026-03-23T08:00:00Z", Recurrence(frequency: .weekly), occurrences: 2) == [
            "2026-03-30T08:00:00.000Z", "2026-04-06T08:00:00.000Z",
        ])
    }

    @Test func intervalsMultiplyTheStep() {
        #expect(followingDueDates("2026-01-01T10:00:00Z", Recurrence(frequency: .weekly, interval: 2), occurrences: 2) == [
            "2026-01-15T10:00:00.000Z", "2026-01-29T10:00:00.000Z",
        ])
        #expect(followingDueDates("2026-01-31T10:00:00Z", Recurrence(frequency: .monthly, interval: 3), occurrences: 2) == [
            "2026-04-30T10:00:00.000Z", "2026-07-31T10:00:00.000Z",
        ])
        #expect(followingDueDates("2026-01-01T10:00:00Z", Recurrence(frequency: .daily, interval: 999), occurrences: 1) == [
            "2028-09-26T10:00:00.000Z",
        ])
    }

    @Test func countEndsTheSeries() {
        // count is the number of occurrences left, this one included: 3 means two more.
        #expect(followingDueDates("2026-01-01T10:00:00Z", Recurrence(frequency: .daily, count: 3), occurrences: 10).count == 2)
        #expect(followingDueDates("2026-01-01T10:00:00Z", Recurrence(frequency: .daily, count: 1), occurrences: 10).isEmpty)
    }

    @Test func untilEndsTheSeriesInclusively() {
        let recurrence = Recurrence(frequency: .daily, until: time("2026-01-03T10:00:00Z"))
        #expect(followingDueDates("2026-01-01T10:00:00Z", recurrence, occurrences: 10) == [
            "2026-01-02T10:00:00.000Z", "2026-01-03T10:00:00.000Z",
        ])
    }

    @Test func theReminderKeepsItsDistanceToTheDueDate() {
        let task = TodoTask.new(
            TaskFields(title: "t", dueAt: time("2026-01-31T09:00:00Z"), remindAt: time("2026-01-31T08:30:00Z"),
                       recurrence: Recurrence(frequency: .monthly)),
            userID: "u", at: time("2026-01-01T00:00:00Z"))
        let next = task.nextOccurrence()?.fields
        #expect(next?.remindAt == time("2026-02-28T08:30:00Z"))
        #expect(next?.completed == false)
    }

    @Test func aTaskWithANextOccurrenceNeverMakesAnother() {
        var task = TodoTask.new(TaskFields(title: "t", dueAt: time("2026-01-01T09:00:00Z"), recurrence: Recurrence(frequency: .daily)),
                                userID: "u", at: time("2026-01-01T00:00:00Z"))
        task.nextOccurrenceID = 42
        #expect(task.nextOccurrence() == nil)
    }

    @Test func aMovedOccurrenceNeverSchedulesBackwards() {
        var task = TodoTask.new(TaskFields(title: "t", dueAt: time("2026-01-10T09:00:00Z"), recurrence: Recurrence(frequency: .daily)),
                                userID: "u", at: time("2026-01-01T00:00:00Z"))
        task.series = Series(start: time("2026-01-01T09:00:00Z"), occurrence: 0)
        #expect(task.nextOccurrence()?.fields.dueAt == time("2026-01-11T09:00:00Z"))
    }

    @Test func changingTheScheduleStartsANewSeries() {
        let task = TodoTask.new(TaskFields(title: "t", dueAt: time("2026-01-31T09:00:00Z"), recurrence: Recurrence(frequency: .monthly)),
                                userID: "u", at: time("2026-01-01T00:00:00Z"))
        var fields = task.fields
        fields.dueAt = time("2026-02-15T09:00:00Z")
        #expect(task.replacingFields(with: fields, at: .now()).series == Series(start: time("2026-02-15T09:00:00Z"), occurrence: 0))
        fields = task.fields
        fields.title = "renamed"
        #expect(task.replacingFields(with: fields, at: .now()).series == task.series)
    }
}
