import Foundation
import Testing
import TodoCore
import TodoStore

/// The quotas the stores enforce, tasks and personal tokens per user, on every database: each
/// write is counted against what is committed, however many arrive together.
@Suite struct QuotaStoreTests {
    static let backends = Backend.available
    /// Several processes write to one database only on PostgreSQL (SQLite has one writer process).
    static let replicated = Backend.available.filter { $0 == .postgres }

    @Test(arguments: backends)
    func aTaskBeyondTheQuotaIsRefusedUntilOneIsDeleted(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            var stored: [TodoTask] = []
            for index in 0..<3 {
                stored.append(try #require(
                    try await storage.tasks.insertTask(TaskFields(title: "t\(index)"), userID: user.id, at: .now(), limit: 3)))
            }
            await #expect(throws: QuotaReached(.tasks, limit: 3)) {
                try await storage.tasks.insertTask(TaskFields(title: "one too many"), userID: user.id, at: .now(), limit: 3)
            }
            #expect(try await storage.tasks.deleteTask(id: stored[0].id, userID: user.id, expectedVersion: nil) == .deleted)
            #expect(await Self.create("room again", for: user.id, in: storage, limit: 3) == .stored)
            #expect(try await storage.tasks.allTasks(userID: user.id).count == 3)
        }
    }

    @Test(arguments: backends)
    func aTaskOfAMissingUserIsNotStoredNorCountedAsTheQuota(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            #expect(await Self.create("orphan", for: "no-such-user", in: storage, limit: 3) == .missing)
        }
    }

    /// On PostgreSQL the creates go in groups (one statement for many tasks), so this also holds
    /// the group's admission of several tasks of one user to the quota.
    @Test(arguments: backends)
    func parallelCreatesNeverPassTheQuotaTogether(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage), other = try await makeUser(storage)
            let owners = (0..<70).map { $0 % 7 == 0 ? other.id : user.id }
            let outcomes = await Self.together(70) { index in await Self.create("t\(index)", for: owners[index], in: storage, limit: 20) }
            func results(of owner: User) -> [CreateOutcome] { zip(owners, outcomes).filter { $0.0 == owner.id }.map(\.1) }
            #expect(results(of: user).filter { $0 == .stored }.count == 20)
            #expect(results(of: user).filter { $0 == .refused }.count == 40)
            #expect(results(of: other) == Array(repeating: .stored, count: 10))
            #expect(try await storage.tasks.allTasks(userID: user.id).count == 20)
            #expect(try await storage.tasks.allTasks(userID: other.id).count == 10)
        }
    }

    @Test(arguments: replicated)
    func createsOnTwoReplicasNeverPassTheQuotaTogether(_ backend: Backend) async throws {
        try await withPostgresReplicas { first, second in
            let user = try await makeUser(first)
            let outcomes = await Self.together(60) { index in
                await Self.create("t\(index)", for: user.id, in: index.isMultiple(of: 2) ? first : second, limit: 25)
            }
            #expect(outcomes.filter { $0 == .stored }.count == 25)
            #expect(outcomes.filter { $0 == .refused }.count == 35)
            #expect(try await first.tasks.allTasks(userID: user.id).count == 25)
        }
    }

    @Test(arguments: replicated)
    func importsOnTwoReplicasNeverPassTheQuotaTogether(_ backend: Backend) async throws {
        try await withPostgresReplicas { first, second in
            let user = try await makeUser(first)
            let batch = (0..<6).map { TodoTask.new(TaskFields(title: "imported \($0)"), userID: user.id, at: .now()) }
            async let one = CreateOutcome { try await first.tasks.importTasks(.flat(batch), userID: user.id, limit: 10) != nil }
            async let two = CreateOutcome { try await second.tasks.importTasks(.flat(batch), userID: user.id, limit: 10) != nil }
            #expect(Set([await one, await two]) == [.stored, .refused])
            #expect(try await first.tasks.allTasks(userID: user.id).count == 6)
        }
    }

    @Test(arguments: backends)
    func anImportThatWouldPassTheQuotaStoresNothing(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            for index in 0..<3 { #expect(await Self.create("t\(index)", for: user.id, in: storage, limit: 5) == .stored) }
            let batch = (0..<3).map { TodoTask.new(TaskFields(title: "imported \($0)"), userID: user.id, at: .now()) }
            await #expect(throws: QuotaReached(.tasks, limit: 5)) { try await storage.tasks.importTasks(.flat(batch), userID: user.id, limit: 5) }
            #expect(try await storage.tasks.allTasks(userID: user.id).count == 3)
            #expect(try await storage.tasks.importTasks(.flat(Array(batch.prefix(2))), userID: user.id, limit: 5) == [])
            #expect(try await storage.tasks.allTasks(userID: user.id).count == 5)
        }
    }

    @Test(arguments: backends)
    func anEmptyImportStoresNothing(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            #expect(try await storage.tasks.importTasks(.flat([]), userID: user.id, limit: 5) == [])
            #expect(try await storage.tasks.importTasks(.flat([]), userID: "no-such-user", limit: 5) == nil)
        }
    }

    /// The series is never cut short: at the quota the completion is refused whole, and it goes
    /// through once there is room.
    @Test(arguments: backends)
    func completingARecurringTaskAtTheQuotaChangesNothing(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let task = try #require(try await storage.tasks.insertTask(Self.monthlyRent, userID: user.id, at: .now(), limit: 2))
            let other = try #require(try await storage.tasks.insertTask(TaskFields(title: "other"), userID: user.id, at: .now(), limit: 2))
            let (completed, next) = try Self.completion(of: task)
            await #expect(throws: QuotaReached(.tasks, limit: 2)) {
                try await storage.tasks.saveTask(completed, expectedVersion: 1, followedBy: next, taskLimit: 2)
            }
            #expect(try await storage.tasks.task(id: task.id, userID: user.id) == task)
            #expect(try await storage.tasks.allTasks(userID: user.id).count == 2)
            #expect(try await storage.tasks.deleteTask(id: other.id, userID: user.id, expectedVersion: nil) == .deleted)
            guard case .saved(let stored?) = try await storage.tasks.saveTask(completed, expectedVersion: 1, followedBy: next, taskLimit: 2) else {
                Issue.record("not saved once there was room")
                return
            }
            #expect(try await storage.tasks.task(id: task.id, userID: user.id)?.nextOccurrenceID == stored.id)
        }
    }

    /// A changed task is a conflict (412 or a retry at the API), whatever the quota says.
    @Test(arguments: backends)
    func aStaleCompletionAtTheQuotaIsAConflict(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let task = try #require(try await storage.tasks.insertTask(Self.monthlyRent, userID: user.id, at: .now(), limit: 1))
            let (completed, next) = try Self.completion(of: task)
            #expect(try await storage.tasks.saveTask(completed, expectedVersion: 7, followedBy: next, taskLimit: 1) == .conflict)
        }
    }

    @Test(arguments: backends)
    func parallelTokenCreationsStopAtTheLimit(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let outcomes = await Self.together(60) { index in
                let token = PersonalToken(id: UUID().uuidString.lowercased(), userID: user.id, name: "script \(index)", createdAt: .now(),
                                          expiresAt: nil, lastUsedAt: nil)
                return await CreateOutcome { try await storage.accounts.createToken(token, secretHash: UUID().uuidString, limit: 50) }
            }
            #expect(outcomes.filter { $0 == .stored }.count == 50)
            #expect(outcomes.filter { $0 == .refused }.count == 10)
            #expect(try await storage.accounts.tokens(userID: user.id).count == 50)
        }
    }

    @Test(arguments: backends)
    func aTokenOfAMissingUserIsNotStored(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let token = PersonalToken(id: UUID().uuidString.lowercased(), userID: "no-such-user", name: "orphan", createdAt: .now(),
                                      expiresAt: nil, lastUsedAt: nil)
            let stored = try await storage.accounts.createToken(token, secretHash: UUID().uuidString, limit: 50)
            #expect(!stored)
        }
    }

    static let monthlyRent = TaskFields(title: "Rent", dueAt: time("2026-01-31T09:00:00Z"), recurrence: Recurrence(frequency: .monthly))

    /// The recurring `task` completed, and its next occurrence, as `TaskService` makes them.
    private static func completion(of task: TodoTask) throws -> (completed: TodoTask, next: TodoTask) {
        var done = task.fields
        done.completed = true
        let completed = task.replacingFields(with: done, at: .now())
        let (fields, series) = try #require(completed.nextOccurrence())
        var next = TodoTask.new(fields, userID: task.userID, at: .now())
        next.series = series
        return (completed, next)
    }

    /// Runs `count` writes at once; what became of each, in index order.
    private static func together(_ count: Int, _ write: @escaping @Sendable (Int) async -> CreateOutcome) async -> [CreateOutcome] {
        await withTaskGroup(of: (Int, CreateOutcome).self) { group in
            for index in 0..<count { group.addTask { (index, await write(index)) } }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private static func create(_ title: String, for userID: UserID, in storage: Storage, limit: Int) async -> CreateOutcome {
        await CreateOutcome { try await storage.tasks.insertTask(TaskFields(title: title), userID: userID, at: .now(), limit: limit) != nil }
    }
}

/// What became of a write that a quota bounds.
enum CreateOutcome: Hashable, Sendable {
    case stored, refused, missing, failed

    /// Runs `write`, which tells whether it stored (false: the user is missing); `QuotaReached`
    /// is a refusal and any other error a failure.
    init(_ write: () async throws -> Bool) async {
        do {
            self = try await write() ? .stored : .missing
        } catch is QuotaReached {
            self = .refused
        } catch {
            self = .failed
        }
    }
}
