import Foundation
import Testing
import TodoCore

/// Quick add, read on Monday 2026-11-23 at 15:00 UTC.
@Suite struct QuickAddTests {
    static let now = Timestamp(rfc3339: "2026-11-23T15:00:00Z")!

    static func parse(_ text: String, zone: String = "UTC") -> QuickAdd.Result {
        QuickAdd.parse(text, now: now, timeZone: TimeZone(identifier: zone)!)
    }

    @Test func theFullExampleOfTheSpec() {
        let result = Self.parse("Pay rent tomorrow 9am !high #home every month")
        #expect(result.title == "Pay rent")
        #expect(result.priority == .high)
        #expect(result.tags == ["home"])
        #expect(result.dueAt?.rfc3339 == "2026-11-24T09:00:00.000Z")
        #expect(result.recurrence == Recurrence(frequency: .monthly, timezone: "UTC"))
    }

    @Test(arguments: [
        ("Buy milk", nil),
        ("Buy milk today", "2026-11-23T09:00:00.000Z"),
        ("Buy milk tonight", "2026-11-23T20:00:00.000Z"),
        ("Buy milk tomorrow", "2026-11-24T09:00:00.000Z"),
        ("Call mum friday", "2026-11-27T09:00:00.000Z"),
        ("Call mum on fri at 6pm", "2026-11-27T18:00:00.000Z"),
        ("Call mum next monday", "2026-11-30T09:00:00.000Z"),
        ("Call mum monday", "2026-11-30T09:00:00.000Z"),
        ("Review next week", "2026-11-30T09:00:00.000Z"),
        ("Renew passport in 3 weeks", "2026-12-14T09:00:00.000Z"),
        ("Tax return 2027-04-30 17:30", "2027-04-30T17:30:00.000Z"),
        ("Party dec 5", "2026-12-05T09:00:00.000Z"),
        ("Party 5th december 8pm", "2026-12-05T20:00:00.000Z"),
        ("Dentist jan 10", "2027-01-10T09:00:00.000Z"),
        ("Standup 9:30am", "2026-11-24T09:30:00.000Z"),
        ("Lunch at noon", "2026-11-24T12:00:00.000Z"),
        ("Stretch 4pm", "2026-11-23T16:00:00.000Z"),
    ])
    func readsDates(_ text: String, _ due: String?) {
        #expect(Self.parse(text).dueAt?.rfc3339 == due, "\(text)")
    }

    @Test func timesAreReadInTheUsersZone() {
        #expect(Self.parse("Call tomorrow 9am", zone: "Europe/Berlin").dueAt?.rfc3339 == "2026-11-24T08:00:00.000Z")
        #expect(Self.parse("Call tomorrow 9am", zone: "America/New_York").dueAt?.rfc3339 == "2026-11-24T14:00:00.000Z")
    }

    @Test(arguments: [
        ("Water plants every 2 weeks", Recurrence(frequency: .weekly, interval: 2, timezone: "UTC")),
        ("Standup daily 9am", Recurrence(frequency: .daily, timezone: "UTC")),
        ("Bins every monday", Recurrence(frequency: .weekly, timezone: "UTC")),
        ("Backup every other day", Recurrence(frequency: .daily, interval: 2, timezone: "UTC")),
        ("Birthday yearly", Recurrence(frequency: .yearly, timezone: "UTC")),
    ])
    func readsRepetition(_ text: String, _ recurrence: Recurrence) {
        let result = Self.parse(text)
        #expect(result.recurrence == recurrence, "\(text)")
        #expect(result.dueAt != nil, "a repeating task needs a due date")
    }

    @Test func leavesOrdinaryWordsInTheTitle() {
        #expect(Self.parse("Read about the monday meeting notes #work !low").title == "Read about the meeting notes")
        #expect(Self.parse("Email #1 priority to Sam").title == "Email #1 priority to Sam" || Self.parse("Email #1 priority to Sam").tags == ["1"])
        #expect(Self.parse("Sell 3 bikes").title == "Sell 3 bikes")
        #expect(Self.parse("!high #a").fields == nil)
    }
}

extension QuickAddTests {
    @Test(arguments: [
        ("Lunch at noon", "Lunch", "2026-11-24T12:00:00.000Z"),
        ("Backup at midnight", "Backup", "2026-11-24T00:00:00.000Z"),
        ("Call at 6pm", "Call", "2026-11-23T18:00:00.000Z"),
    ])
    func atBeforeATimeLeavesTheTitle(_ text: String, _ title: String, _ due: String) {
        let result = Self.parse(text)
        #expect(result.title == title)
        #expect(result.dueAt?.rfc3339 == due)
    }

    @Test(arguments: [
        ("Call mum tomorrow.", "2026-11-24T09:00:00.000Z"),
        ("Call mum at 5p.m.", "2026-11-23T17:00:00.000Z"),
        ("Call mum at 5p.m", "2026-11-23T17:00:00.000Z"),
        ("Call mum dec 5, 8pm", "2026-12-05T20:00:00.000Z"),
        ("Call mum at noon?", "2026-11-24T12:00:00.000Z"),
    ])
    func aDateOrTimeFollowedByPunctuationIsRead(_ text: String, _ due: String) {
        let result = Self.parse(text)
        #expect(result.title == "Call mum", "\(text)")
        #expect(result.dueAt?.rfc3339 == due, "\(text)")
    }

    @Test func priorityMarksAndTagsFollowedByPunctuationAreRead() {
        let result = Self.parse("Pay rent !high, #home.")
        #expect(result.title == "Pay rent")
        #expect(result.priority == .high)
        #expect(result.tags == ["home"])
        #expect(Self.parse("Pay rent !!!").priority == .high)
        #expect(Self.parse("Pay rent !!").priority == .medium)
    }

    @Test func punctuationOfTitleWordsIsKept() {
        #expect(Self.parse("Call mum!").title == "Call mum!")
        #expect(Self.parse("Is it done? tomorrow").title == "Is it done?")
    }

    @Test(arguments: [
        ("Milk +Groceries", "Milk", "Groceries"),
        ("+groceries milk tomorrow", "milk", "groceries"),
        ("Paper +\"Home Office\" !high", "Paper", "Home Office"),
        ("Paper +\"Office\"", "Paper", "Office"),
        ("Milk +Groceries, eggs", "Milk eggs", "Groceries"),
        ("Milk +Groceries +Errands", "Milk +Errands", "Groceries"),
    ])
    func aPlusNamesTheProject(_ text: String, _ title: String, _ project: String) {
        let result = Self.parse(text)
        #expect(result.title == title, "\(text)")
        #expect(result.project == project, "\(text)")
    }

    @Test(arguments: ["1 + 1 = 2", "C++ book", "Paper +\"Home Office", "Milk +\"\""])
    func aPlusWithoutANameIsPartOfTheTitle(_ text: String) {
        let result = Self.parse(text)
        #expect(result.project == nil, "\(text)")
        #expect(result.title == text, "\(text)")
    }
}
