import Foundation
import Synchronization
import Testing
import TodoCore
@testable import TodoStore

/// Group commit without a database: what arrives during a commit goes in the next group, whole.
@Suite struct WriteGroupsTests {
    @Test func writesArrivingDuringACommitShareTheNextOne() async throws {
        let groups = Mutex<[[Int]]>([])
        let writes = WriteGroups<Int, Int> { group in
            groups.withLock { $0.append(group.map(\.input)) }
            try? await Task.sleep(for: .milliseconds(100))  // a slow commit
            for write in group { write.succeed(write.input * 2) }
        }
        async let first = writes.write(0)
        try await Task.sleep(for: .milliseconds(30))  // the first commit is under way
        let doubled = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 1...20 { group.addTask { try await writes.write(index) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(try await first == 0)
        #expect(doubled.sorted() == (1...20).map { $0 * 2 })
        let committed = groups.withLock { $0 }
        #expect(committed.count == 2, "groups: \(committed)")
        #expect(committed.first == [0])
        #expect(committed.last?.sorted() == Array(1...20))
    }
}

/// Group commit on every database: writes committed together must each be answered alone.
@Suite struct GroupCommitStoreTests {
    static let backends = Backend.available

    /// Tasks created together are inserted together (on PostgreSQL with one statement whose
    /// columns travel as arrays, NULLs as sentinels): each must come back exactly as it was
    /// written, a task of a missing user must get nil alone, and on PostgreSQL a task the server
    /// refuses (a NUL in its title) must fail alone.
    @Test(arguments: backends)
    func tasksCreatedTogetherKeepEveryFieldAndAnswerEachWriteAlone(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let refused = backend == .postgres ? 17 : nil
            let results = try await withThrowingTaskGroup(of: (index: Int, task: TodoTask, stored: TodoTask?, failed: Bool).self) { group in
                for index in 0..<80 {
                    group.addTask {
                        var task = Self.variedTask(index, userID: index % 10 == 3 ? "no-such-user" : user.id)
                        if index == refused { task.fields.title = "nul \u{0} title" }
                        do {
                            return (index, task, try await storage.tasks.insertTask(task, limit: taskLimit), false)
                        } catch {
                            return (index, task, nil, true)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results {
                if result.index == refused {
                    #expect(result.failed, "the task with a NUL was stored")
                } else if result.index % 10 == 3 {
                    #expect(result.stored == nil && !result.failed, "task \(result.index) of a missing user")
                } else {
                    let stored = try #require(result.stored, "task \(result.index) failed")
                    var expected = result.task
                    expected.id = stored.id
                    // In the owner's Inbox, at a place of its own there.
                    #expect(stored.projectID != nil && stored.position != nil)
                    expected.projectID = stored.projectID
                    expected.position = stored.position
                    #expect(stored == expected)
                    #expect(try await storage.tasks.task(id: stored.id, userID: user.id) == expected, "task \(result.index) as read back")
                }
            }
            var query = TaskQuery()
            query.limit = TaskQuery.maximumLimit
            let expectedCount = 72 - (refused == nil ? 0 : 1)
            #expect(try await storage.tasks.listTasks(userID: user.id, query: query).items.count == expectedCount)
            #expect(Set(results.compactMap(\.stored?.id)).count == expectedCount, "ids are unique")
        }
    }

    /// Task `index` of four shapes: every optional field empty, or set in different ways.
    static func variedTask(_ index: Int, userID: UserID) -> TodoTask {
        let created = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000 + Int64(index) * 1_001)
        var fields = TaskFields(title: "task \(index)")
        var task = TodoTask(id: 0, userID: userID, fields: fields, completedAt: nil, version: 1, createdAt: created, updatedAt: created)
        switch index % 4 {
        case 1:
            fields.description = "with \"quotes\", commas, and a\nline"
            fields.completed = true
            fields.tags = ["home", "errand-2"]
            fields.dueAt = time("2027-02-03T04:05:06.789Z")
            fields.remindAt = time("2027-02-03T03:05:06.789Z")
            task.completedAt = created
        case 2:
            fields.priority = .medium
            fields.dueAt = time("2026-12-31T23:59:59.999Z")
            fields.recurrence = Recurrence(frequency: .weekly, interval: 2, until: time("2027-06-01T00:00:00Z"), count: 5, timezone: "Europe/Berlin")
            task.series = Series(start: time("2026-12-03T23:59:59.999Z"), occurrence: 4)
            task.nextOccurrenceID = 987_654
            task.version = 3
        case 3:
            fields.title = "🙂 \u{202E}right-to-left\u{200B} 𝔘"
            fields.priority = .high
            fields.tags = ["x"]
            fields.remindAt = time("1999-01-01T00:00:00.001Z")
        default: break
        }
        task.fields = fields
        return task
    }

    /// Writes that arrive together share a commit on SQLite (group commit): each must still be
    /// stored exactly once, and one that fails must leave the others in its group unharmed.
    @Test(arguments: backends)
    func concurrentWritesAreEachStoredOnceAndAFailingOneHarmsNoOther(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let takenHash = UUID().uuidString
            #expect(try await storage.accounts.createToken(Self.token(of: user.id), secretHash: takenHash, limit: tokenLimit))
            let outcomes = try await withThrowingTaskGroup(of: (stored: Bool, refused: Bool).self) { group in
                for index in 0..<120 {
                    group.addTask {
                        guard index % 10 == 5 else {
                            let task = try await storage.tasks.insertTask(
                                TaskFields(title: "task \(index)"), userID: user.id, at: .now(), limit: taskLimit)
                            return (task != nil, false)
                        }
                        // A token whose secret hash is taken: the unique key refuses it.
                        do {
                            _ = try await storage.accounts.createToken(Self.token(of: user.id), secretHash: takenHash, limit: tokenLimit)
                            return (false, false)
                        } catch {
                            return (false, true)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter(\.stored).count == 108)
            #expect(outcomes.filter(\.refused).count == 12)
            var query = TaskQuery()
            query.limit = TaskQuery.maximumLimit
            let titles = try await storage.tasks.listTasks(userID: user.id, query: query).items.map(\.fields.title)
            #expect(titles.count == 108)
            #expect(Set(titles) == Set((0..<120).filter { $0 % 10 != 5 }.map { "task \($0)" }))
        }
    }

    private static func token(of userID: UserID) -> PersonalToken {
        PersonalToken(id: UUID().uuidString.lowercased(), userID: userID, name: "script", createdAt: .now(), expiresAt: nil, lastUsedAt: nil)
    }
}
