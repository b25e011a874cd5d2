import Foundation
import Testing
import TodoCore

@Suite struct MailNotificationTests {
    static func time(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }
    static func zone(_ name: String) -> TimeZone { TimeZone(identifier: name)! }

    static func task(_ id: TaskID, _ title: String, due: String?, completed: Bool = false) -> TodoTask {
        TodoTask(
            id: id, userID: "u", fields: TaskFields(title: title, completed: completed, dueAt: due.map(time)), completedAt: nil, version: 1,
            createdAt: time("2026-01-01T00:00:00Z"), updatedAt: time("2026-01-01T00:00:00Z"))
    }

    @Test func digestTimesAreExactlyTwoDigitsColonTwoDigits() {
        #expect(DigestTime("07:00")?.description == "07:00")
        #expect(DigestTime("23:59") == DigestTime(hour: 23, minute: 59))
        for bad in ["7:00", "24:00", "12:60", "12:5", "ab:cd", "", "12:00:00", "１２:００", "-1:00"] {
            #expect(DigestTime(bad) == nil, "\(bad)")
        }
    }

    @Test func theNextDigestIsTheNextLocalOccurrenceOfItsTime() {
        let paris = Self.zone("Europe/Paris")
        let seven = DigestTime(hour: 7, minute: 0)!
        #expect(DigestSchedule.next(seven, in: paris, after: Self.time("2026-12-04T05:00:00Z")) == Self.time("2026-12-04T06:00:00Z"))
        #expect(DigestSchedule.next(seven, in: paris, after: Self.time("2026-12-04T06:00:00Z")) == Self.time("2026-12-05T06:00:00Z"), "strictly after")
        #expect(DigestSchedule.next(seven, in: paris, after: Self.time("2026-07-01T12:00:00Z")) == Self.time("2026-07-02T05:00:00Z"), "summer time")
        let midnight = DigestTime(hour: 0, minute: 0)!
        #expect(DigestSchedule.next(midnight, in: Self.zone("UTC"), after: Self.time("2026-12-04T23:59:00Z")) == Self.time("2026-12-05T00:00:00Z"))
        let settings = NotificationSettings(dailyDigest: false)
        #expect(settings.nextDigest(after: .now()) == nil, "no digest, no time")
    }

    @Test func aTimeTheClockSkipsIsTheFirstMinuteAfterTheGapAndARepeatedOneComesOnce() {
        let newYork = Self.zone("America/New_York")
        let halfPastTwo = DigestTime(hour: 2, minute: 30)!
        // 8 March 2026: 02:00 EST jumps to 03:00 EDT.
        #expect(DigestSchedule.next(halfPastTwo, in: newYork, after: Self.time("2026-03-08T05:00:00Z")) == Self.time("2026-03-08T07:00:00Z"))
        #expect(DigestSchedule.next(halfPastTwo, in: newYork, after: Self.time("2026-03-08T07:00:00Z")) == Self.time("2026-03-09T06:30:00Z"))
        // 1 November 2026: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
        let halfPastOne = DigestTime(hour: 1, minute: 30)!
        let first = DigestSchedule.next(halfPastOne, in: newYork, after: Self.time("2026-11-01T04:00:00Z"))
        #expect(first == Self.time("2026-11-01T05:30:00Z"), "the first of the two")
        #expect(DigestSchedule.next(halfPastOne, in: newYork, after: first) == Self.time("2026-11-02T06:30:00Z"), "once that day")
    }

    @Test func localDaysFollowTheZoneAndLastTwentyThreeHoursWhenSummerTimeStarts() {
        let paris = Self.zone("Europe/Paris")
        #expect(DigestSchedule.localDate(of: Self.time("2026-12-04T23:30:00Z"), in: paris) == "2026-12-05")
        let day = DigestSchedule.bounds(of: "2026-03-29", in: paris)
        #expect(day?.start == Self.time("2026-03-28T23:00:00Z") && day?.end == Self.time("2026-03-29T22:00:00Z"))
        #expect(DigestSchedule.bounds(of: "not a date", in: paris) == nil)
        #expect(DigestSchedule.localTime(Self.time("2026-12-04T13:30:00Z"), in: paris) == "Fri 4 Dec 2026, 14:30")
    }

    @Test func aDigestListsOpenTasksDueTodayAndOverdueEarliestFirst() throws {
        let paris = Self.zone("Europe/Paris")
        let tasks = [
            Self.task(1, "today late", due: "2026-12-04T20:00:00Z"),
            Self.task(2, "today early", due: "2026-12-04T07:00:00Z"),
            Self.task(3, "last week", due: "2026-11-27T10:00:00Z"),
            Self.task(4, "done", due: "2026-12-04T08:00:00Z", completed: true),
            Self.task(5, "tomorrow in Paris", due: "2026-12-04T23:30:00Z"),
            Self.task(6, "no date", due: nil),
        ]
        let digest = try #require(DailyDigest(date: "2026-12-04", zone: paris, tasks: tasks))
        #expect(digest.dueToday.map(\.id) == [2, 1] && digest.overdue.map(\.id) == [3])
        let text = digest.text(in: paris, zoneName: "Europe/Paris") { "https://todo.example/tasks/\($0)" }
        #expect(text.subject == "Todo digest for 2026-12-04: 3 tasks due")
        #expect(text.body.contains("- today early (due Fri 4 Dec 2026, 08:00)\n  https://todo.example/tasks/2"))
        #expect(text.body.contains("Times are in Europe/Paris."))
        #expect(!text.body.contains("done") || !text.body.contains("/tasks/4"))
        #expect(DailyDigest(date: "2026-12-04", zone: paris, tasks: [tasks[3], tasks[4], tasks[5]]) == nil, "nothing due: no digest")
    }

    @Test func aReminderMailNamesTheTaskItsLocalDueTimeAndItsLink() {
        let task = Self.task(7, "Café\nbill", due: "2026-12-04T13:30:00Z")
        let text = MailText.reminder(for: task, in: Self.zone("Asia/Tokyo"), zoneName: "Asia/Tokyo", link: "https://todo.example/tasks/7")
        #expect(text.subject == "Reminder: Café bill")
        #expect(text.body.contains("Due: Fri 4 Dec 2026, 22:30 (Asia/Tokyo)"))
        #expect(text.body.contains("https://todo.example/tasks/7"))
    }

    @Test func zonesAreIANANames() {
        #expect(NotificationSettings.isKnownZone("Europe/Paris") && NotificationSettings.isKnownZone("UTC"))
        #expect(!NotificationSettings.isKnownZone("Mars/Olympus") && !NotificationSettings.isKnownZone(""))
    }
}
