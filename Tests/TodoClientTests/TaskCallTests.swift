import Foundation
import Testing
import TodoTestSupport
import TodoClient
import TodoCore

/// Creating, reading, changing, completing and deleting tasks, over HTTP to the real backend.
@Suite struct TaskCallTests {
    static let everyField = TaskFields(
        title: "Water the plants", description: "Balcony first,\nthen the kitchen", completed: false, priority: .medium,
        tags: ["home", "weekly"], dueAt: .inSeconds(86_400), remindAt: .inSeconds(86_400 - 600),
        recurrence: Recurrence(frequency: .weekly, interval: 2, until: .inSeconds(90 * 86_400), count: 10, timezone: "Europe/Berlin"))

    @Test func createSendsEveryFieldAndGetsThemBackAsStored() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let created = try await backend.client.createTask(token: token, fields: Self.everyField)
            #expect(created.id > 0)
            #expect(created.fields == Self.everyField)
            #expect(created.completedAt == nil)
            #expect(created.createdAt == created.updatedAt)
            let (fetched, _) = try await backend.client.task(token: token, id: created.id)
            #expect(fetched == created)
        }
    }

    @Test func createStoresTagsInTheirNormalFormAndACompletedTaskWithItsCompletionTime() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let created = try await backend.client.createTask(
                token: token, fields: TaskFields(title: "  Done already ", completed: true, tags: ["#Home", "home", "Work"]))
            #expect(created.fields.title == "Done already")
            #expect(created.fields.tags == ["home", "work"])
            #expect(created.completedAt != nil)
        }
    }

    @Test func getReturnsAStrongETagThatChangesWithEveryChange() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let task = try await backend.client.createTask(token: token, fields: TaskFields(title: "Versioned"))
            let first = try #require(try await backend.client.task(token: token, id: task.id).etag)
            #expect(first.hasPrefix("\"") && first.hasSuffix("\""))
            var patch = TaskPatch()
            patch.title = "Versioned again"
            _ = try await backend.client.updateTask(token: token, id: task.id, patch: patch)
            let second = try #require(try await backend.client.task(token: token, id: task.id).etag)
            #expect(second != first)
        }
    }

    @Test func patchChangesOnlyTheFieldsItSets() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let task = try await backend.client.createTask(token: token, fields: Self.everyField)
            var patch = TaskPatch()
            patch.title = "Water the herbs"
            patch.priority = .high
            let changed = try await backend.client.updateTask(token: token, id: task.id, patch: patch)
            var expected = Self.everyField
            expected.title = "Water the herbs"
            expected.priority = .high
            #expect(changed.fields == expected)
            #expect(changed.updatedAt >= task.updatedAt)
        }
    }

    @Test func patchClearsANullableFieldItSetsToNil() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let task = try await backend.client.createTask(token: token, fields: Self.everyField)
            var clearReminder = TaskPatch()
            clearReminder.remindAt = .some(nil)
            let withoutReminder = try await backend.client.updateTask(token: token, id: task.id, patch: clearReminder)
            #expect(withoutReminder.fields.remindAt == nil)
            #expect(withoutReminder.fields.dueAt == Self.everyField.dueAt)

            var clearSchedule = TaskPatch()
            clearSchedule.dueAt = .some(nil)
            clearSchedule.recurrence = .some(nil)
            let unscheduled = try await backend.client.updateTask(token: token, id: task.id, patch: clearSchedule)
            #expect(unscheduled.fields.dueAt == nil)
            #expect(unscheduled.fields.recurrence == nil)
            #expect(unscheduled.fields.title == Self.everyField.title)
            #expect(try await backend.client.task(token: token, id: task.id).task.fields == unscheduled.fields)
        }
    }

    @Test func patchWithTheCurrentETagSucceedsAndWithAStaleOneThrowsVersionConflict() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let task = try await backend.client.createTask(token: token, fields: TaskFields(title: "Draft"))
            let etag = try #require(try await backend.client.task(token: token, id: task.id).etag)
            var first = TaskPatch()
            first.title = "Draft, first edit"
            _ = try await backend.client.updateTask(token: token, id: task.id, patch: first, ifMatch: etag)

            var second = TaskPatch()
            second.title = "Draft, made from the old version"
            #expect(await clientError { try await backend.client.updateTask(token: token, id: task.id, patch: second, ifMatch: etag) }
                == .versionConflict)
            // An ETag the backend never issued matches no version either.
            #expect(await clientError { try await backend.client.updateTask(token: token, id: task.id, patch: second, ifMatch: "W/\"1\"") }
                == .versionConflict)
            #expect(try await backend.client.task(token: token, id: task.id).task.fields.title == "Draft, first edit")
        }
    }

    @Test func anInvalidTaskThrowsValidationNamingEveryBadField() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let fields = TaskFields(title: String(repeating: "x", count: 201), tags: ["fine", "two words"])
            #expect(await clientError { try await backend.client.createTask(token: token, fields: fields) }?.fields == ["title", "tags[1]"])

            let task = try await backend.client.createTask(token: token, fields: TaskFields(title: "No due date"))
            var repeating = TaskPatch()
            repeating.recurrence = .some(Recurrence(frequency: .daily))
            #expect(await clientError { try await backend.client.updateTask(token: token, id: task.id, patch: repeating) }?.fields
                == ["recurrence"])
        }
    }

    @Test func completeAndReopenSetAndClearTheCompletionAndNilToggles() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let task = try await backend.client.createTask(token: token, fields: TaskFields(title: "Finish me"))
            let done = try await backend.client.completeTask(token: token, id: task.id)
            #expect(done.fields.completed && done.completedAt != nil)
            let doneAgain = try await backend.client.completeTask(token: token, id: task.id, completed: true)
            #expect(doneAgain.fields.completed)
            let reopened = try await backend.client.completeTask(token: token, id: task.id, completed: false)
            #expect(!reopened.fields.completed && reopened.completedAt == nil)
            let toggled = try await backend.client.completeTask(token: token, id: task.id, completed: nil)
            #expect(toggled.fields.completed)
        }
    }

    @Test func completingARecurringTaskReturnsItDoneAndListsTheNextOccurrence() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let due = Timestamp.inSeconds(3600)
            let task = try await backend.client.createTask(
                token: token, fields: TaskFields(title: "Stand-up", dueAt: due, recurrence: Recurrence(frequency: .daily)))
            let done = try await backend.client.completeTask(token: token, id: task.id)
            #expect(done.fields.completed)
            var pending = TaskQuery()
            pending.status = .pending
            let next = try await backend.client.listTasks(token: token, query: pending).items
            #expect(next.map(\.fields.title) == ["Stand-up"])
            #expect(next.first?.fields.dueAt == due.adding(milliseconds: 86_400_000))
        }
    }

    @Test func deleteRemovesTheTaskAndASecondDeleteThrowsNotFound() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let task = try await backend.client.createTask(token: token, fields: TaskFields(title: "Short-lived"))
            try await backend.client.deleteTask(token: token, id: task.id)
            #expect(await clientError { try await backend.client.task(token: token, id: task.id) } == .notFound)
            #expect(await clientError { try await backend.client.deleteTask(token: token, id: task.id) } == .notFound)
        }
    }

    @Test func anotherAccountsTaskIsNotFoundForEveryCall() async throws {
        try await LiveBackend.run { backend in
            let (_, owner) = try await backend.signUp()
            let (_, stranger) = try await backend.signUp()
            let task = try await backend.client.createTask(token: owner, fields: TaskFields(title: "Mine"))
            var patch = TaskPatch()
            patch.title = "Yours now"
            #expect(await clientError { try await backend.client.task(token: stranger, id: task.id) } == .notFound)
            #expect(await clientError { try await backend.client.updateTask(token: stranger, id: task.id, patch: patch) } == .notFound)
            #expect(await clientError { try await backend.client.completeTask(token: stranger, id: task.id) } == .notFound)
            #expect(await clientError { try await backend.client.deleteTask(token: stranger, id: task.id) } == .notFound)
            #expect(try await backend.client.task(token: owner, id: task.id).task.fields.title == "Mine")
        }
    }

    @Test func callsWithoutAValidTokenThrowUnauthorized() async throws {
        try await LiveBackend.run { backend in
            #expect(await clientError { try await backend.client.listTasks(token: "expired") }?.code == "unauthorized")
            #expect(await clientError { try await backend.client.createTask(token: "", fields: TaskFields(title: "x")) }?.code
                == "unauthorized")
        }
    }
}
