import Foundation
import Logging
import Testing
import TodoCore
import TodoStore

/// One suite, every database: each test runs on SQLite and on PostgreSQL.
@Suite struct RepositoryConformanceTests {
    static let backends = Backend.available

    @Test(arguments: backends)
    func migratingAgainChangesNothing(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            try await storage.schema.migrate(logger: Logger(label: "test"))
            #expect(try await storage.schema.appliedSchemaVersion() == Schema.latestVersion)
        }
    }

    @Test(arguments: backends)
    func concurrentMigrationsApplyEachVersionOnce(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await storage.schema.migrate(logger: Logger(label: "test")) } }
                try await group.waitForAll()
            }
            #expect(try await storage.schema.appliedSchemaVersion() == Schema.latestVersion)
        }
    }

    @Test(arguments: backends)
    func takenEmailIsRefused(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage, name: "Ann")
            let twin = User(id: UUID().uuidString, email: user.email, name: nil, createdAt: .now())
            #expect(try await storage.accounts.createUser(twin, passwordHash: "x") == nil)
            #expect(try await storage.accounts.user(id: twin.id) == nil)
        }
    }

    @Test(arguments: backends)
    func usersAreFoundByEmailAndID(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage, name: "Ann")
            let stored = try #require(try await storage.accounts.credentials(email: user.email))
            #expect(stored.user == user)
            #expect(stored.passwordHash == "hash")
            #expect(try await storage.accounts.user(id: user.id) == user)
            #expect(try await storage.accounts.credentials(email: "nobody@example.com") == nil)
        }
    }

    @Test(arguments: backends)
    func storedTaskReadsBackIdentically(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let fields = TaskFields(
                title: "Pay rent 🏠 שכר דירה \u{200B}zero-width",
                description: "line one\nline two\t'quoted' \"double\" -- ; DROP TABLE tasks;",
                completed: true, priority: .high, tags: ["home", "money/rent", "émoji🎉"],
                dueAt: time("2026-02-28T09:00:00.123Z"), remindAt: time("2026-02-28T08:30:00Z"),
                recurrence: Recurrence(frequency: .monthly, interval: 2, until: time("2027-01-01T00:00:00Z"), count: 12,
                                       timezone: "Europe/Berlin"))
            let now = time("2026-01-01T12:00:00.007Z")
            let created = try #require(try await storage.tasks.insertTask(fields, userID: user.id, at: now, limit: taskLimit))
            #expect(created.fields == fields)
            #expect(created.completedAt == now)
            #expect(created.version == 1)
            let read = try #require(try await storage.tasks.task(id: created.id, userID: user.id))
            #expect(read == created)
        }
    }

    @Test(arguments: backends)
    func anotherUsersTaskIsInvisibleAndUntouchable(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage)
            let stranger = try await makeUser(storage)
            let task = try #require(try await storage.tasks.insertTask(TaskFields(title: "private"), userID: owner.id, at: .now(), limit: taskLimit))
            #expect(try await storage.tasks.task(id: task.id, userID: stranger.id) == nil)
            #expect(try await storage.tasks.listTasks(userID: stranger.id, query: TaskQuery()).items.isEmpty)
            var stolen = task
            stolen.userID = stranger.id
            stolen.fields.title = "mine now"
            #expect(try await storage.tasks.saveTask(stolen, expectedVersion: 1) == false)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: stranger.id, expectedVersion: nil) == .notFound)
            #expect(try await storage.tasks.task(id: task.id, userID: owner.id) == task)
        }
    }

    @Test(arguments: backends)
    func taskForUnknownUserIsNotStored(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let stored = try await storage.tasks.insertTask(TaskFields(title: "orphan"), userID: "no-such-user", at: .now(), limit: taskLimit)
            #expect(stored == nil)
        }
    }

    @Test(arguments: backends)
    func saveSucceedsOnlyAtTheExpectedVersion(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let task = try #require(try await storage.tasks.insertTask(TaskFields(title: "v1"), userID: user.id, at: .now(), limit: taskLimit))
            let second = task.replacingFields(with: TaskFields(title: "v2"), at: .now())
            #expect(try await storage.tasks.saveTask(second, expectedVersion: 1))
            let lost = task.replacingFields(with: TaskFields(title: "lost update"), at: .now())
            #expect(try await storage.tasks.saveTask(lost, expectedVersion: 1) == false)
            let stored = try #require(try await storage.tasks.task(id: task.id, userID: user.id))
            #expect(stored.fields.title == "v2")
            #expect(stored.version == 2)
        }
    }

    @Test(arguments: backends)
    func deleteHonoursExpectedVersion(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let task = try #require(try await storage.tasks.insertTask(TaskFields(title: "bye"), userID: user.id, at: .now(), limit: taskLimit))
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: user.id, expectedVersion: 7) == .versionMismatch)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: user.id, expectedVersion: 1) == .deleted)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: user.id, expectedVersion: nil) == .notFound)
            #expect(try await storage.tasks.task(id: task.id, userID: user.id) == nil)
        }
    }

    @Test(arguments: backends)
    func deletedIdIsNeverReused(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let first = try #require(try await storage.tasks.insertTask(TaskFields(title: "a"), userID: user.id, at: .now(), limit: taskLimit))
            _ = try await storage.tasks.deleteTask(id: first.id, userID: user.id, expectedVersion: nil)
            let second = try #require(try await storage.tasks.insertTask(TaskFields(title: "b"), userID: user.id, at: .now(), limit: taskLimit))
            #expect(second.id > first.id)
        }
    }
}
