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
    func anObjectIsTheUsersAndReplacedWhole(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let other = try await makeUser(storage)
            let task = try await Self.task(storage, user)
            try await storage.calendarObjects.saveCalendarObject(Self.object(task, name: "a.ics"))
            #expect(try await storage.calendarObjects.calendarObjects(userID: user.id) == [Self.object(task, name: "a.ics")])
            #expect(try await storage.calendarObjects.calendarObjects(userID: other.id).isEmpty)
            let renamed = Self.object(task, name: "b.ics", extra: "X-B:2\r\n")
            try await storage.calendarObjects.saveCalendarObject(renamed)
            #expect(try await storage.calendarObjects.calendarObjects(userID: user.id) == [renamed])
        }
    }

    /// In a shared project the first member's client keeps the task's name and UID: another
    /// member's write of the same task leaves the row as it was.
    @Test(arguments: backends)
    func anotherMembersObjectOfTheSameTaskLeavesTheRowAlone(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage)
            let editor = try await makeUser(storage)
            let home = try #require(try await storage.projects.createProject(NewProject(name: "Home"), userID: owner.id, at: .now()))
            #expect(try await storage.projects.setMember(editor.id, role: .editor, projectID: home.id, at: .now()))
            var new = TodoTask.new(TaskFields(title: "Shared"), userID: owner.id, at: .now())
            new.projectID = home.id
            let task = try #require(try await storage.tasks.insertTask(new, limit: 1000))
            try await storage.calendarObjects.saveCalendarObject(Self.object(task, name: "owners.ics"))
            var editors = Self.object(task, name: "editors.ics")
            editors.userID = editor.id
            try await storage.calendarObjects.saveCalendarObject(editors)
            #expect(try await storage.calendarObjects.calendarObjects(userID: owner.id) == [Self.object(task, name: "owners.ics")])
            #expect(try await storage.calendarObjects.calendarObjects(userID: editor.id).isEmpty)
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
            #expect(try await storage.calendarObjects.calendarObjects(userID: user.id) == [Self.object(first, name: "same.ics")])
            let second = try await Self.task(storage, user, "Second")
            try await storage.calendarObjects.saveCalendarObject(Self.object(second, name: "same.ics"))
            #expect(try await storage.calendarObjects.calendarObjects(userID: user.id) == [Self.object(second, name: "same.ics")])
        }
    }

    /// A project's calendar syncs from its events: its tasks' changes by any member, and a task
    /// moved out of it (`moved_from`), which the other project's events hold as well.
    @Test(arguments: backends)
    func aProjectsEventsAreItsTasksChangesAndItsDepartures(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage)
            let editor = try await makeUser(storage)
            let a = try #require(try await storage.projects.createProject(NewProject(name: "A"), userID: owner.id, at: .now()))
            let b = try #require(try await storage.projects.createProject(NewProject(name: "B"), userID: owner.id, at: .now()))
            #expect(try await storage.projects.setMember(editor.id, role: .editor, projectID: a.id, at: .now()))
            #expect(try await storage.events.latestEventID(projectID: a.id) == 0)
            var new = TodoTask.new(TaskFields(title: "By the editor"), userID: editor.id, at: .now())
            new.projectID = a.id
            let task = try #require(try await storage.tasks.insertTask(new, limit: 1000))
            _ = try await Self.task(storage, owner, "In the Inbox")
            let created = try await storage.events.latestEventID(projectID: a.id)
            #expect(try await storage.events.events(projectID: a.id, after: 0, limit: 10).map(\.taskID) == [task.id])
            #expect(try await storage.events.latestEventID(projectID: b.id) == 0)

            var moved = task.replacingFields(with: task.fields, at: .now())
            moved.projectID = b.id
            moved.position = nil  // the end of B
            #expect(try await storage.tasks.saveTask(moved, by: owner.id, expectedVersion: 1, followedBy: nil, taskLimit: 1000) == .saved(next: nil))
            let departure = try #require(try await storage.events.events(projectID: a.id, after: created, limit: 10).first)
            #expect(departure.taskID == task.id)
            #expect(try await storage.events.latestEventID(projectID: a.id) == departure.id)
            #expect(try await storage.events.events(projectID: b.id, after: 0, limit: 10).map(\.id) == [departure.id])
            #expect(try await storage.events.latestEventID(projectID: b.id) == departure.id)
            #expect(try #require(try await storage.events.oldestEventID()) <= created)
        }
    }
}
