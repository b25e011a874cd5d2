import Testing
import TodoCore
import TodoStore

/// What CalDAV clients store beside a task, the same on every database.
@Suite struct CalendarObjectStoreTests {
    static let backends = Backend.available

    static func task(_ storage: Storage, _ user: User, _ title: String = "Task") async throws -> TodoTask {
        try #require(try await storage.tasks.insertTask(TaskFields(title: title), userID: user.id, at: .now(), limit: 1000))
    }

    static func object(_ task: TodoTask, name: String, extra: String = "X-A:1\r\n") -> CalendarObject {
        CalendarObject(taskID: task.id, userID: task.userID, name: name, uid: "uid-\(name)", todoExtra: extra, calendarExtra: "")
    }

    @Test(arguments: backends)
    func anObjectIsFoundByItsNameAndItsTaskAndReplacedWhole(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let other = try await makeUser(storage)
            let task = try await Self.task(storage, user)
            try await storage.calendarObjects.saveCalendarObject(Self.object(task, name: "a.ics"))
            #expect(try await storage.calendarObjects.calendarObject(name: "a.ics", userID: user.id) == Self.object(task, name: "a.ics"))
            #expect(try await storage.calendarObjects.calendarObject(name: "a.ics", userID: other.id) == nil)
            #expect(try await storage.calendarObjects.calendarObject(taskID: task.id, userID: other.id) == nil)
            let renamed = Self.object(task, name: "b.ics", extra: "X-B:2\r\n")
            try await storage.calendarObjects.saveCalendarObject(renamed)
            #expect(try await storage.calendarObjects.calendarObject(taskID: task.id, userID: user.id) == renamed)
            #expect(try await storage.calendarObjects.calendarObject(name: "a.ics", userID: user.id) == nil)
            #expect(try await storage.calendarObjects.calendarObjects(userID: user.id) == [renamed])
        }
    }

    /// A sync after the deletion must still name the deleted object; a new object may take its name.
    @Test(arguments: backends)
    func aDeletedTasksObjectOutlivesItAndItsNameCanBeTakenAgain(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let first = try await Self.task(storage, user, "First")
            try await storage.calendarObjects.saveCalendarObject(Self.object(first, name: "same.ics"))
            #expect(try await storage.tasks.deleteTask(id: first.id, userID: user.id, expectedVersion: nil) == .deleted)
            try await storage.calendarObjects.pruneCalendarObjects()  // its events are still in the log
            #expect(try await storage.calendarObjects.calendarObject(taskID: first.id, userID: user.id)?.name == "same.ics")
            let second = try await Self.task(storage, user, "Second")
            try await storage.calendarObjects.saveCalendarObject(Self.object(second, name: "same.ics"))
            #expect(try await storage.calendarObjects.calendarObjects(userID: user.id) == [Self.object(second, name: "same.ics")])
        }
    }

    @Test(arguments: backends)
    func theUsersLatestEventIDMovesWithItsChangesOnly(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let other = try await makeUser(storage)
            #expect(try await storage.events.latestEventID(userID: user.id) == 0)
            _ = try await Self.task(storage, user)
            let afterMine = try await storage.events.latestEventID(userID: user.id)
            #expect(afterMine > 0)
            _ = try await Self.task(storage, other)
            #expect(try await storage.events.latestEventID(userID: user.id) == afterMine)
            #expect(try #require(try await storage.events.oldestEventID()) <= afterMine)
        }
    }
}
