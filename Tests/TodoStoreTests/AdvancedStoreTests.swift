import Foundation
import Testing
import TodoCore
import TodoStore

/// Recurrence links, imports, personal tokens, reminders and the event log, on every database.
@Suite struct AdvancedStoreTests {
    static let backends = Backend.available

    @Test(arguments: backends)
    func completingStoresTheNextOccurrenceAndLinksIt(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let fields = TaskFields(title: "Rent", dueAt: time("2026-01-31T09:00:00Z"), recurrence: Recurrence(frequency: .monthly))
            let task = try #require(try await storage.tasks.insertTask(fields, userID: user.id, at: .now(), limit: taskLimit))
            #expect(task.series == Series(start: time("2026-01-31T09:00:00Z"), occurrence: 0))
            var done = task.fields
            done.completed = true
            let completed = task.replacingFields(with: done, at: .now())
            let (nextFields, series) = try #require(completed.nextOccurrence())
            var next = TodoTask.new(nextFields, userID: user.id, at: .now())
            next.series = series
            guard case .saved(let stored?) = try await storage.tasks.saveTask(completed, expectedVersion: 1, followedBy: next, taskLimit: taskLimit) else {
                Issue.record("not saved")
                return
            }
            #expect(stored.fields.dueAt == time("2026-02-28T09:00:00Z"))
            let reread = try #require(try await storage.tasks.task(id: task.id, userID: user.id))
            #expect(reread.nextOccurrenceID == stored.id)
            #expect(reread.fields.completed)
            let storedNext = try #require(try await storage.tasks.task(id: stored.id, userID: user.id))
            #expect(storedNext.series == Series(start: time("2026-01-31T09:00:00Z"), occurrence: 1))
        }
    }

    @Test(arguments: backends)
    func aLostRaceStoresNoOccurrence(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let fields = TaskFields(title: "Daily", dueAt: time("2026-01-01T09:00:00Z"), recurrence: Recurrence(frequency: .daily))
            let task = try #require(try await storage.tasks.insertTask(fields, userID: user.id, at: .now(), limit: taskLimit))
            var done = task.fields
            done.completed = true
            let completed = task.replacingFields(with: done, at: .now())
            let next = TodoTask.new(try #require(completed.nextOccurrence()).fields, userID: user.id, at: .now())
            #expect(try await storage.tasks.saveTask(completed, expectedVersion: 5, followedBy: next, taskLimit: taskLimit) == .conflict)
            #expect(try await storage.tasks.listTasks(userID: user.id, query: TaskQuery()).items.count == 1)
        }
    }

    @Test(arguments: backends)
    func importStoresEverythingOrNothing(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let old = time("2020-05-05T05:05:05.555Z")
            var imported = TodoTask.new(TaskFields(title: "old one", completed: true), userID: "ignored", at: old)
            imported.completedAt = time("2020-06-01T00:00:00Z")
            let tasks = [imported, TodoTask.new(TaskFields(title: "second"), userID: "ignored", at: old)]
            #expect(try await storage.tasks.importTasks(.flat(tasks), userID: user.id, limit: taskLimit) == [])
            let stored = try await storage.tasks.listTasks(userID: user.id, query: TaskQuery()).items
            #expect(Set(stored.map(\.fields.title)) == ["old one", "second"])
            #expect(stored.allSatisfy { $0.createdAt == old })
            #expect(stored.first { $0.fields.title == "old one" }?.completedAt == time("2020-06-01T00:00:00Z"))
            #expect(try await storage.tasks.importTasks(.flat(tasks), userID: "no-such-user", limit: taskLimit) == nil)
        }
    }

    /// Projects made, sub-tasks under their parents at three levels, positions kept, the Inbox's
    /// tasks after its own; refused by the quota, not even the projects stay.
    @Test(arguments: backends)
    func anImportMakesItsProjectsAndNestsItsSubTasks(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let now = Timestamp.now()
            let own = try #require(try await storage.tasks.insertTask(TaskFields(title: "mine"), userID: user.id, at: now, limit: taskLimit))
            func task(_ title: String, position: Double? = nil) -> TodoTask {
                var task = TodoTask.new(TaskFields(title: title), userID: "ignored", at: now)
                task.position = position
                return task
            }
            let plan = ImportPlan(projects: [.init(name: "Trip", color: "#336699"), .init(name: "Old", archived: true)], tasks: [
                .init(task: task("milk")),
                .init(task: task("pack", position: 20), project: 0),
                .init(task: task("passport", position: 10), project: 1),
                .init(task: task("socks", position: 30), project: 0, parent: 1),
                .init(task: task("wool socks", position: 5), project: 0, parent: 3),
            ])
            let projectIDs = try #require(try await storage.tasks.importTasks(plan, userID: user.id, limit: taskLimit))
            #expect(projectIDs.count == 2)
            let projects = try await storage.projects.projects(userID: user.id, at: now)
            #expect(projects.map(\.name) == ["Inbox", "Trip", "Old"])
            #expect(projects.map(\.role) == [.owner, .owner, .owner])
            #expect(projects.map(\.archived) == [false, false, true] && projects[1].color == "#336699")
            #expect(projects.dropFirst().map(\.id) == projectIDs)
            let stored = Dictionary(uniqueKeysWithValues: try await storage.tasks.allTasks(userID: user.id).map { ($0.fields.title, $0) })
            let pack = try #require(stored["pack"]), socks = try #require(stored["socks"]), wool = try #require(stored["wool socks"])
            #expect([pack, socks, wool].map(\.projectID) == [projectIDs[0], projectIDs[0], projectIDs[0]])
            #expect(pack.parentID == nil && socks.parentID == pack.id && wool.parentID == socks.id)
            #expect([pack, socks, wool, try #require(stored["passport"])].map(\.position) == [20, 30, 5, 10])
            let milk = try #require(stored["milk"])
            #expect(milk.projectID == own.projectID && milk.position! > own.position!)

            let before = try await storage.projects.projects(userID: user.id, at: now).count
            await #expect(throws: QuotaReached(.tasks, limit: 7)) { try await storage.tasks.importTasks(plan, userID: user.id, limit: 7) }
            #expect(try await storage.projects.projects(userID: user.id, at: now).count == before)
        }
    }

    @Test(arguments: backends)
    func personalTokensAreFoundByHashAndRevocable(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let token = PersonalToken(id: UUID().uuidString, userID: user.id, name: "cli", createdAt: time("2026-01-01T00:00:00Z"),
                                      expiresAt: time("2027-01-01T00:00:00Z"), lastUsedAt: nil)
            #expect(try await storage.accounts.createToken(token, secretHash: "hash-\(token.id)", limit: tokenLimit))
            #expect(try await storage.accounts.tokens(userID: user.id) == [token])
            #expect(try await storage.accounts.token(secretHash: "hash-\(token.id)") == token)
            #expect(try await storage.accounts.token(secretHash: "nope") == nil)
            let stranger = try await makeUser(storage)
            #expect(try await storage.accounts.deleteToken(id: token.id, userID: stranger.id) == false)
            #expect(try await storage.accounts.deleteToken(id: token.id, userID: user.id))
            #expect(try await storage.accounts.token(secretHash: "hash-\(token.id)") == nil)
        }
    }

    @Test(arguments: backends)
    func aTokensLastUseIsRecordedAtMostOncePerMinute(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let token = PersonalToken(id: UUID().uuidString, userID: user.id, name: "cli", createdAt: time("2026-01-01T00:00:00Z"),
                                      expiresAt: nil, lastUsedAt: nil)
            #expect(try await storage.accounts.createToken(token, secretHash: "hash-\(token.id)", limit: tokenLimit))
            func lastUse() async throws -> Timestamp? { try await storage.accounts.token(secretHash: "hash-\(token.id)")?.lastUsedAt }
            try await storage.accounts.touchToken(id: token.id, at: time("2026-02-02T00:00:00Z"))
            #expect(try await lastUse() == time("2026-02-02T00:00:00Z"))
            try await storage.accounts.touchToken(id: token.id, at: time("2026-02-02T00:00:59Z"))
            #expect(try await lastUse() == time("2026-02-02T00:00:00Z"))
            try await storage.accounts.touchToken(id: token.id, at: time("2026-02-02T00:01:00Z"))
            #expect(try await lastUse() == time("2026-02-02T00:01:00Z"))
        }
    }

    @Test(arguments: backends)
    func everyChangeIsLoggedAsAnEventOfItsUser(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let start = try await storage.events.latestEventID()
            let task = try #require(try await storage.tasks.insertTask(TaskFields(title: "a"), userID: user.id, at: .now(), limit: taskLimit))
            #expect(try await storage.tasks.saveTask(task.replacingFields(with: TaskFields(title: "b"), at: .now()), expectedVersion: 1))
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: user.id, expectedVersion: nil) == .deleted)
            let events = try await storage.events.events(userID: user.id, after: start, limit: 10)
            #expect(events.map(\.kind) == [.taskCreated, .taskUpdated, .taskDeleted])
            #expect(events.allSatisfy { $0.taskID == task.id && $0.userID == user.id })
            #expect(events.map(\.id) == events.map(\.id).sorted())
            let all = try await storage.events.events(after: start, limit: 1000)
            #expect(all.filter { $0.userID == user.id } == events)
            let other = try await makeUser(storage)
            #expect(try await storage.events.events(userID: other.id, after: start, limit: 10).isEmpty)
        }
    }

    @Test(arguments: backends)
    func eachDueReminderIsClaimedExactlyOnceEvenConcurrently(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let start = try await storage.events.latestEventID()
            let past = Timestamp.now().adding(milliseconds: -60_000)
            for index in 0..<30 {
                _ = try await storage.tasks.insertTask(TaskFields(title: "r\(index)", remindAt: past), userID: user.id, at: .now(), limit: taskLimit)
            }
            _ = try await storage.tasks.insertTask(TaskFields(title: "later", remindAt: .now().adding(milliseconds: 3_600_000)),
                                                userID: user.id, at: .now(), limit: taskLimit)
            _ = try await storage.tasks.insertTask(TaskFields(title: "done", completed: true, remindAt: past), userID: user.id, at: .now(), limit: taskLimit)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask { while try await !storage.events.claimDueReminders(at: .now(), limit: 7).isEmpty {} }
                }
                try await group.waitForAll()
            }
            // Other tests share the PostgreSQL database and may claim this user's reminders too:
            // wait until all 30 are recorded, then check none was recorded twice.
            var reminders: [TaskEvent] = []
            for _ in 0..<100 {
                _ = try await storage.events.claimDueReminders(at: .now(), limit: 100)
                reminders = try await storage.events.events(userID: user.id, after: start, limit: 100).filter { $0.kind == .reminderDue }
                if reminders.count >= 30 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(reminders.count == 30)
            #expect(Set(reminders.map(\.taskID)).count == 30)
        }
    }

    @Test(arguments: backends)
    func movingAReminderArmsItAgain(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let past = Timestamp.now().adding(milliseconds: -1000)
            let start = try await storage.events.latestEventID()
            let task = try #require(try await storage.tasks.insertTask(TaskFields(title: "r", remindAt: past), userID: user.id, at: .now(), limit: taskLimit))
            _ = try await storage.events.claimDueReminders(at: .now(), limit: 1000)
            var fields = task.fields
            fields.title = "renamed"
            #expect(try await storage.tasks.saveTask(task.replacingFields(with: fields, at: .now()), expectedVersion: 1))
            _ = try await storage.events.claimDueReminders(at: .now(), limit: 1000)
            fields.remindAt = past.adding(milliseconds: 1)
            let current = try #require(try await storage.tasks.task(id: task.id, userID: user.id))
            #expect(try await storage.tasks.saveTask(current.replacingFields(with: fields, at: .now()), expectedVersion: 2))
            _ = try await storage.events.claimDueReminders(at: .now(), limit: 1000)
            let kinds = try await storage.events.events(userID: user.id, after: start, limit: 10).map(\.kind)
            #expect(kinds == [.taskCreated, .reminderDue, .taskUpdated, .taskUpdated, .reminderDue])
        }
    }
}

@Suite struct ConversationStoreTests {
    static let backends = Backend.available

    @Test(arguments: backends)
    func messagesComeBackInOrderWithTheirToolCalls(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let start = time("2026-01-01T00:00:00Z")
            let conversation = Conversation(id: UUID().uuidString, userID: user.id, title: "Groceries", createdAt: start, updatedAt: start)
            #expect(try await storage.conversations.createConversation(conversation, limit: 10) == conversation)
            let call = ToolCall(id: "call_1", name: "add_task", arguments: .object(["title": "milk"]),
                                result: .object(["task": .object(["id": "1"])]), isError: false)
            let messages = [
                ChatMessage(role: .user, content: "add milk", createdAt: start),
                ChatMessage(role: .assistant, content: "", toolCalls: [call], createdAt: start),
                ChatMessage(role: .tool, content: "Added task 1", toolCallID: "call_1", createdAt: start),
                ChatMessage(role: .assistant, content: "Added “milk”.", createdAt: start),
            ]
            let later = time("2026-01-02T00:00:00Z")
            try await storage.conversations.appendMessages(messages, conversationID: conversation.id, at: later)
            #expect(try await storage.conversations.messages(conversationID: conversation.id, limit: 10) == messages)
            #expect(try await storage.conversations.messages(conversationID: conversation.id, limit: 2) == Array(messages.suffix(2)))
            #expect(try await storage.conversations.conversations(userID: user.id, limit: 10).map(\.updatedAt) == [later])
            let stranger = try await makeUser(storage)
            #expect(try await storage.conversations.conversation(id: conversation.id, userID: stranger.id) == nil)
            #expect(try await storage.conversations.conversations(userID: stranger.id, limit: 10).isEmpty)
        }
    }

    static func conversation(of user: User) -> Conversation {
        Conversation(id: UUID().uuidString.lowercased(), userID: user.id, title: "chat", createdAt: .now(), updatedAt: .now())
    }

    static func message(_ role: ChatMessage.Role) -> ChatMessage {
        ChatMessage(role: role, content: "hi", createdAt: .now())
    }

    @Test(arguments: backends)
    func parallelCreationsStopAtTheUsersConversationLimit(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let outcomes = await withTaskGroup(of: Result<Conversation?, any Error>.self) { group in
                for _ in 0..<40 {
                    group.addTask { await Result(catching: { try await storage.conversations.createConversation(Self.conversation(of: user), limit: 3) }) }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { (try? $0.get()) != nil }.count == 3)
            #expect(outcomes.compactMap { $0.failure as? QuotaReached }.count == 37)
            #expect(outcomes.compactMap(\.failure).allSatisfy { ($0 as? QuotaReached) == QuotaReached(.conversations, limit: 3) })
            #expect(try await storage.conversations.conversations(userID: user.id, limit: 100).count == 3)
            let other = try await makeUser(storage)
            let created = try await storage.conversations.createConversation(Self.conversation(of: other), limit: 3)
            #expect(created != nil)
        }
    }

    @Test(arguments: backends)
    func aConversationOfAMissingUserIsNotCreated(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let ghost = User(id: UUID().uuidString.lowercased(), email: "ghost@example.com", name: nil, createdAt: .now())
            let created = try await storage.conversations.createConversation(Self.conversation(of: ghost), limit: 3)
            #expect(created == nil)
        }
    }

    @Test(arguments: backends)
    func parallelUserMessagesStopAtTheConversationsLimitAndRepliesDoNotCount(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let conversation = try #require(try await storage.conversations.createConversation(Self.conversation(of: user), limit: 3))
            let replies = [Self.message(.assistant), Self.message(.assistant), Self.message(.assistant)]
            try await storage.conversations.appendMessages(replies, conversationID: conversation.id, at: .now())
            let outcomes = await withTaskGroup(of: Result<Void, any Error>.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        await Result(catching: { try await storage.conversations.appendUserMessage(Self.message(.user), conversationID: conversation.id, limit: 4) })
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.failure == nil }.count == 4)
            #expect(outcomes.compactMap(\.failure).allSatisfy { ($0 as? QuotaReached) == QuotaReached(.messages, limit: 4) })
            let stored = try await storage.conversations.messages(conversationID: conversation.id, limit: 100)
            #expect(stored.map(\.role) == [.assistant, .assistant, .assistant, .user, .user, .user, .user])
        }
    }
}

extension Result {
    init(catching body: () async throws -> Success) async where Failure == any Error {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }

    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
