import Foundation
import Testing
import TodoCore

func json(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

/// The fields named by the issues a body raises.
func invalidFields(_ text: String) throws -> [String] {
    do {
        _ = try TaskFields(json: try json(text))
        return []
    } catch let error as ValidationError {
        return error.issues.map(\.field)
    }
}

@Suite struct TaskInputTests {
    @Test func minimalBodyTakesDefaults() throws {
        let fields = try TaskFields(json: try json(#"{"title": "  Buy milk\t "}"#))
        #expect(fields == TaskFields(title: "Buy milk"))
    }

    @Test func everyFieldIsRead() throws {
        let fields = try TaskFields(json: try json("""
            {"title": "Rent", "description": "monthly\\npay", "completed": true, "priority": "high",
             "tags": ["#Home", "home", "Money"], "due_at": "2026-01-31T09:00:00Z", "remind_at": null,
             "recurrence": {"frequency": "monthly", "interval": 2, "count": 3, "timezone": "Europe/Berlin"},
             "id": "ignored", "created_at": "ignored too"}
            """))
        #expect(fields.description == "monthly\npay")
        #expect(fields.completed)
        #expect(fields.priority == .high)
        #expect(fields.tags == ["home", "money"])
        #expect(fields.dueAt == Timestamp(rfc3339: "2026-01-31T09:00:00Z"))
        #expect(fields.recurrence == Recurrence(frequency: .monthly, interval: 2, count: 3, timezone: "Europe/Berlin"))
    }

    @Test(arguments: [
        (#"{}"#, ["title"]),
        (#"{"title": ""}"#, ["title"]),
        (#"{"title": "   "}"#, ["title"]),
        (#"{"title": 5}"#, ["title"]),
        (#"{"title": null}"#, ["title"]),
        (#"{"title": "a\nb"}"#, ["title"]),
        (#"{"title": "nul\u0000"}"#, ["title"]),
        (#"{"title": "ok", "description": "bell\u0007"}"#, ["description"]),
        (#"{"title": "ok", "description": 1}"#, ["description"]),
        (#"{"title": "ok", "completed": "yes"}"#, ["completed"]),
        (#"{"title": "ok", "completed": 1}"#, ["completed"]),
        (#"{"title": "ok", "priority": "urgent"}"#, ["priority"]),
        (#"{"title": "ok", "tags": "home"}"#, ["tags"]),
        (#"{"title": "ok", "tags": ["a b"]}"#, ["tags[0]"]),
        (#"{"title": "ok", "tags": ["ok", 3]}"#, ["tags[1]"]),
        (#"{"title": "ok", "tags": ["a,b"]}"#, ["tags[0]"]),
        (#"{"title": "ok", "tags": [""]}"#, ["tags[0]"]),
        (#"{"title": "ok", "due_at": "tomorrow"}"#, ["due_at"]),
        (#"{"title": "ok", "due_at": 1700000000}"#, ["due_at"]),
        (#"{"title": "ok", "remind_at": "2026-02-30T00:00:00Z"}"#, ["remind_at"]),
        (#"{"title": "ok", "recurrence": {"frequency": "daily"}}"#, ["recurrence"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "hourly"}}"#, ["recurrence.frequency"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "interval": 0}}"#, ["recurrence.interval"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "interval": 1000}}"#, ["recurrence.interval"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "interval": 1.5}}"#, ["recurrence.interval"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "count": 0}}"#, ["recurrence.count"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "timezone": "Mars/Base"}}"#, ["recurrence.timezone"]),
        (#"{"title": "ok", "due_at": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily", "every": 2}}"#, ["recurrence.every"]),
        (#"{"title": "ok", "titel": "typo"}"#, ["titel"]),
        (#"{"title": "ok", "user_id": "someone-else"}"#, ["user_id"]),
        (#"[]"#, ["body"]),
        (#""title""#, ["body"]),
    ])
    func invalidBodiesNameTheField(_ body: String, _ expected: [String]) throws {
        #expect(try invalidFields(body) == expected)
    }

    @Test func lengthLimitsCountCharactersNotBytes() throws {
        let emoji = String(repeating: "🎉", count: 200)
        #expect(try invalidFields(#"{"title": "\#(emoji)"}"#) == [])
        #expect(try invalidFields(#"{"title": "\#(emoji)x"}"#) == ["title"])
        let description = String(repeating: "é", count: 1000)
        #expect(try invalidFields(#"{"title": "t", "description": "\#(description)"}"#) == [])
        #expect(try invalidFields(#"{"title": "t", "description": "\#(description)e"}"#) == ["description"])
        let tags = (0..<21).map { "\"t\($0)\"" }.joined(separator: ",")
        #expect(try invalidFields(#"{"title": "t", "tags": [\#(tags)]}"#) == ["tags"])
        let longTag = String(repeating: "x", count: 41)
        #expect(try invalidFields(#"{"title": "t", "tags": ["\#(longTag)"]}"#) == ["tags[0]"])
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        #expect(try invalidFields(#"{"title": "", "priority": "x", "tags": 1}"#) == ["title", "priority", "tags"])
    }

    @Test func patchChangesOnlyWhatItNames() throws {
        let current = TaskFields(title: "Old", description: "keep", priority: .low, tags: ["a"], dueAt: Timestamp(millisecondsSinceEpoch: 5))
        let patched = try TaskPatch(json: try json(#"{"title": "New", "due_at": null}"#)).applied(to: current)
        #expect(patched == TaskFields(title: "New", description: "keep", priority: .low, tags: ["a"], dueAt: nil))
    }

    @Test func patchCannotLeaveARecurrenceWithoutDueDate() throws {
        let current = TaskFields(title: "Rent", dueAt: Timestamp(millisecondsSinceEpoch: 5), recurrence: Recurrence(frequency: .weekly))
        #expect(throws: ValidationError.self) { try TaskPatch(json: try json(#"{"due_at": null}"#)).applied(to: current) }
    }

    @Test func completingRecordsTheMomentAndReopeningClearsIt() {
        let task = TodoTask(id: 1, userID: "u", fields: TaskFields(title: "t"), completedAt: nil, version: 1,
                            createdAt: Timestamp(millisecondsSinceEpoch: 0), updatedAt: Timestamp(millisecondsSinceEpoch: 0))
        let now = Timestamp(millisecondsSinceEpoch: 10)
        var fields = task.fields
        fields.completed = true
        let done = task.replacingFields(with: fields, at: now)
        #expect(done.completedAt == now)
        #expect(done.version == 2)
        #expect(done.updatedAt == now)
        fields.completed = false
        #expect(done.replacingFields(with: fields, at: now).completedAt == nil)
    }
}

@Suite struct CredentialsTests {
    @Test func emailIsNormalised() throws {
        #expect(try Credentials.normalizedEmail("  Ann@Example.COM ") == "ann@example.com")
    }

    @Test(arguments: ["", "ann", "ann@", "@example.com", "ann@example", "ann@@example.com", "a n@example.com", "ann@.com", "ann@example."])
    func malformedEmailIsRejected(_ email: String) {
        #expect(throws: ValidationError.self) { try Credentials.normalizedEmail(email) }
    }

    @Test func passwordMustFitBcrypt() {
        #expect(throws: ValidationError.self) { try Credentials.checkNewPassword("short") }
        #expect(throws: ValidationError.self) { try Credentials.checkNewPassword(String(repeating: "é", count: 37)) }
        #expect(throws: Never.self) { try Credentials.checkNewPassword(String(repeating: "x", count: 72)) }
    }
}
