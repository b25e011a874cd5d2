import Foundation
import Testing
import TodoCore
import TodoStore

/// Projects, membership and manual order, on every database.
@Suite struct ProjectStoreTests {
    static let backends = Backend.available

    private static func inbox(_ storage: Storage, _ user: User) async throws -> Project {
        try #require(try await storage.projects.projects(userID: user.id, at: .now()).first { $0.isInbox })
    }

    private static func add(_ storage: Storage, _ user: User, _ title: String, project: ProjectID? = nil, due: Timestamp? = nil) async throws -> TodoTask {
        var task = TodoTask.new(TaskFields(title: title, dueAt: due), userID: user.id, at: .now())
        task.projectID = project
        return try #require(try await storage.tasks.insertTask(task, limit: taskLimit))
    }

    @Test(arguments: backends)
    func aNewAccountHasAnInboxThatItOwns(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let projects = try await storage.projects.projects(userID: user.id, at: .now())
            #expect(projects.count == 1)
            let inbox = try #require(projects.first)
            #expect(inbox.isInbox && inbox.name == "Inbox" && inbox.role == .owner && !inbox.archived)
            #expect(inbox.openCount == 0 && inbox.overdueCount == 0)
            #expect(try await storage.projects.role(userID: user.id, projectID: inbox.id) == .owner)
        }
    }

    @Test(arguments: backends)
    func tasksWithoutAProjectGoToTheEndOfTheInboxAndAreCounted(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let inbox = try await Self.inbox(storage, user)
            let first = try await Self.add(storage, user, "first", due: time("2020-01-01T00:00:00Z"))
            let second = try await Self.add(storage, user, "second")
            #expect(first.projectID == inbox.id && second.projectID == inbox.id)
            #expect(first.position == ManualOrder.step && second.position == 2 * ManualOrder.step)
            #expect(try await storage.tasks.task(id: second.id, userID: user.id) == second)
            var done = second.replacingFields(with: TaskFields(title: "second", completed: true), at: .now())
            done.position = second.position
            #expect(try await storage.tasks.saveTask(done, expectedVersion: 1))
            let counted = try #require(try await storage.projects.project(id: inbox.id, userID: user.id, at: .now()))
            #expect(counted.openCount == 1 && counted.overdueCount == 1)
        }
    }

    @Test(arguments: backends)
    func aProjectIsSeenAndWrittenOnlyByItsMembers(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage), stranger = try await makeUser(storage)
            let work = try #require(try await storage.projects.createProject(NewProject(name: "Work", color: "#3b82f6"), userID: owner.id, at: .now()))
            #expect(work.role == .owner && !work.isInbox && work.color == "#3b82f6" && work.position == 2 * ManualOrder.step)
            #expect(try await storage.projects.projects(userID: owner.id, at: .now()).map(\.name) == ["Inbox", "Work"])
            let task = try await Self.add(storage, owner, "plan", project: work.id)
            #expect(task.projectID == work.id)

            #expect(try await storage.projects.project(id: work.id, userID: stranger.id, at: .now()) == nil)
            #expect(try await storage.projects.projects(userID: stranger.id, at: .now()).map(\.id) != [work.id])
            #expect(try await storage.tasks.task(id: task.id, userID: stranger.id) == nil)
            var query = TaskQuery()
            query.project = work.id
            #expect(try await storage.tasks.listTasks(userID: stranger.id, query: query).items.isEmpty)
            #expect(try await storage.tasks.listTasks(userID: owner.id, query: query).items.map(\.id) == [task.id])
            var intruding = TodoTask.new(TaskFields(title: "intruder"), userID: stranger.id, at: .now())
            intruding.projectID = work.id
            #expect(try await storage.tasks.insertTask(intruding, limit: taskLimit) == nil)
            var renamed = task.replacingFields(with: TaskFields(title: "stolen"), at: .now())
            renamed.userID = stranger.id
            #expect(try await storage.tasks.saveTask(renamed, expectedVersion: 1) == false)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: stranger.id, expectedVersion: nil) == .notFound)
            #expect(try await storage.projects.updateProject(id: work.id, userID: stranger.id, patch: ProjectPatch(name: "Mine"), at: .now()) == .notFound)
            #expect(try await storage.projects.deleteProject(id: work.id, userID: stranger.id, tasks: .delete, at: .now()) == .notFound)
            #expect(try await storage.tasks.task(id: task.id, userID: owner.id)?.fields.title == "plan")
        }
    }

    @Test(arguments: backends)
    func aViewerReadsButWritesNothingAndAnEditorWritesTasksOnly(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage), viewer = try await makeUser(storage), editor = try await makeUser(storage)
            let home = try #require(try await storage.projects.createProject(NewProject(name: "Home"), userID: owner.id, at: .now()))
            #expect(try await storage.projects.setMember(viewer.id, role: .viewer, projectID: home.id, at: .now()))
            #expect(try await storage.projects.setMember(editor.id, role: .editor, projectID: home.id, at: .now()))
            let task = try await Self.add(storage, owner, "water plants", project: home.id)

            #expect(try await storage.tasks.task(id: task.id, userID: viewer.id) == task)
            #expect(try await storage.tasks.listTasks(userID: viewer.id, query: TaskQuery()).items.map(\.id) == [task.id])
            let changed = task.replacingFields(with: TaskFields(title: "changed"), at: .now())
            #expect(try await storage.tasks.saveTask(changed, by: viewer.id, expectedVersion: 1, followedBy: nil, taskLimit: taskLimit) == .conflict)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: viewer.id, expectedVersion: nil) == .forbidden)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: viewer.id, expectedVersion: 1) == .forbidden)
            var added = TodoTask.new(TaskFields(title: "by the viewer"), userID: viewer.id, at: .now())
            added.projectID = home.id
            #expect(try await storage.tasks.insertTask(added, limit: taskLimit) == nil)
            #expect(try await storage.tasks.task(id: task.id, userID: owner.id) == task)

            #expect(try await storage.tasks.saveTask(changed, by: editor.id, expectedVersion: 1, followedBy: nil, taskLimit: taskLimit) == .saved(next: nil))
            #expect(try await storage.projects.updateProject(id: home.id, userID: editor.id, patch: ProjectPatch(archived: true), at: .now()) == .forbidden)
            #expect(try await storage.projects.deleteProject(id: home.id, userID: editor.id, tasks: .delete, at: .now()) == .forbidden)
            // Any member orders their own list.
            guard case .updated(let moved) = try await storage.projects.updateProject(
                id: home.id, userID: viewer.id, patch: ProjectPatch(position: 1), at: .now())
            else { Issue.record("a viewer could not reorder their own list"); return }
            #expect(moved.position == 1 && moved.role == .viewer)
            #expect(try await storage.projects.projects(userID: viewer.id, at: .now()).map(\.name) == ["Home", "Inbox"])
            #expect(try await storage.projects.project(id: home.id, userID: owner.id, at: .now())?.position == 2 * ManualOrder.step)
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: editor.id, expectedVersion: nil) == .deleted)
        }
    }

    @Test(arguments: backends)
    func aTaskMovesOnlyBetweenProjectsItsWriterMayWriteAndGoesToTheEnd(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage), other = try await makeUser(storage)
            let inbox = try await Self.inbox(storage, owner)
            let work = try #require(try await storage.projects.createProject(NewProject(name: "Work"), userID: owner.id, at: .now()))
            let elsewhere = try await Self.inbox(storage, other)
            _ = try await Self.add(storage, owner, "already there", project: work.id)
            let task = try await Self.add(storage, owner, "move me")
            #expect(task.projectID == inbox.id)

            var forbidden = task.replacingFields(with: task.fields, at: .now())
            forbidden.projectID = elsewhere.id
            #expect(try await storage.tasks.saveTask(forbidden, expectedVersion: 1) == false)
            var moved = task.replacingFields(with: task.fields, at: .now())
            moved.projectID = work.id
            moved.position = nil
            #expect(try await storage.tasks.saveTask(moved, expectedVersion: 1))
            let stored = try #require(try await storage.tasks.task(id: task.id, userID: owner.id))
            #expect(stored.projectID == work.id && stored.position == 2 * ManualOrder.step && stored.version == 2)
        }
    }

    @Test(arguments: backends)
    func deletingAProjectMovesItsTasksToTheInboxOrDeletesThem(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let inbox = try await Self.inbox(storage, user)
            let kept = try await Self.add(storage, user, "in the inbox")
            let trip = try #require(try await storage.projects.createProject(NewProject(name: "Trip"), userID: user.id, at: .now()))
            let tickets = try await Self.add(storage, user, "tickets", project: trip.id)
            let bags = try await Self.add(storage, user, "bags", project: trip.id)
            #expect(try await storage.projects.deleteProject(id: trip.id, userID: user.id, tasks: .move, at: .now()) == .deleted)
            #expect(try await storage.projects.project(id: trip.id, userID: user.id, at: .now()) == nil)
            var query = TaskQuery()
            query.project = inbox.id
            query.sort = .init(field: .position, descending: false)
            let listed = try await storage.tasks.listTasks(userID: user.id, query: query).items
            #expect(listed.map(\.id) == [kept.id, tickets.id, bags.id])
            #expect(listed.map(\.version) == [1, 2, 2])
            #expect(listed.map(\.position) == [1, 2, 3].map { $0 * ManualOrder.step })

            let camp = try #require(try await storage.projects.createProject(NewProject(name: "Camp"), userID: user.id, at: .now()))
            let tent = try await Self.add(storage, user, "tent", project: camp.id)
            #expect(try await storage.projects.deleteProject(id: camp.id, userID: user.id, tasks: .delete, at: .now()) == .deleted)
            #expect(try await storage.tasks.task(id: tent.id, userID: user.id) == nil)
            #expect(try await storage.tasks.listTasks(userID: user.id, query: TaskQuery()).items.count == 3)

            #expect(try await storage.projects.deleteProject(id: inbox.id, userID: user.id, tasks: .delete, at: .now()) == .isInbox)
            #expect(try await storage.projects.updateProject(id: inbox.id, userID: user.id, patch: ProjectPatch(archived: true), at: .now()) == .isInbox)
            guard case .updated(let renamed) = try await storage.projects.updateProject(
                id: inbox.id, userID: user.id, patch: ProjectPatch(name: "Eingang", color: .some("#00ff00")), at: .now())
            else { Issue.record("the Inbox could not be renamed"); return }
            #expect(renamed.name == "Eingang" && renamed.color == "#00ff00" && renamed.isInbox && renamed.openCount == 3)
        }
    }

    @Test(arguments: backends)
    func aPositionTakenFromANeighbourPutsTheItemBeforeItAndRenumbersTheList(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let inbox = try await Self.inbox(storage, user)
            let a = try #require(try await storage.projects.createProject(NewProject(name: "A"), userID: user.id, at: .now()))
            let b = try #require(try await storage.projects.createProject(NewProject(name: "B"), userID: user.id, at: .now()))
            // Between the Inbox and A: one row changes.
            guard case .updated(let between) = try await storage.projects.updateProject(
                id: b.id, userID: user.id, patch: ProjectPatch(position: 1536), at: .now())
            else { Issue.record("no update"); return }
            #expect(between.position == 1536)
            #expect(try await storage.projects.projects(userID: user.id, at: .now()).map(\.name) == ["Inbox", "B", "A"])
            // The Inbox's position for A: no number is free, so A goes just before the Inbox and
            // the list is renumbered.
            _ = try await storage.projects.updateProject(id: a.id, userID: user.id, patch: ProjectPatch(position: inbox.position), at: .now())
            let projects = try await storage.projects.projects(userID: user.id, at: .now())
            #expect(projects.map(\.name) == ["A", "Inbox", "B"])
            #expect(projects.map(\.position) == [1, 2, 3].map { $0 * ManualOrder.step })
        }
    }

    @Test(arguments: backends)
    func theManualOrderPagesByPosition(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            var tasks: [TodoTask] = []
            for title in ["one", "two", "three", "four"] { tasks.append(try await Self.add(storage, user, title)) }
            // "four" between "one" and "two".
            var moved = tasks[3].replacingFields(with: tasks[3].fields, at: .now())
            moved.position = (tasks[0].position! + tasks[1].position!) / 2
            #expect(try await storage.tasks.saveTask(moved, expectedVersion: 1))
            var query = TaskQuery()
            query.sort = .init(field: .position, descending: false)
            query.limit = 3
            let first = try await storage.tasks.listTasks(userID: user.id, query: query)
            #expect(first.items.map(\.fields.title) == ["one", "four", "two"])
            query.cursor = try #require(first.nextCursor)
            #expect(try await storage.tasks.listTasks(userID: user.id, query: query).items.map(\.fields.title) == ["three"])
            query.cursor = nil
            query.sort.descending = true
            #expect(try await storage.tasks.listTasks(userID: user.id, query: query).items.map(\.fields.title) == ["three", "two", "four"])
        }
    }

    @Test(arguments: backends)
    func deletingAParentDeletesItsSubTasks(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let parent = try await Self.add(storage, user, "parent")
            var child = TodoTask.new(TaskFields(title: "child"), userID: user.id, at: .now())
            child.parentID = parent.id
            let stored = try #require(try await storage.tasks.insertTask(child, limit: taskLimit))
            var query = TaskQuery()
            query.parent = .task(parent.id)
            #expect(try await storage.tasks.listTasks(userID: user.id, query: query).items.map(\.id) == [stored.id])
            query.parent = .topLevel
            #expect(try await storage.tasks.listTasks(userID: user.id, query: query).items.map(\.id) == [parent.id])
            #expect(try await storage.tasks.deleteTask(id: parent.id, userID: user.id, expectedVersion: nil) == .deleted)
            #expect(try await storage.tasks.task(id: stored.id, userID: user.id) == nil)
            #expect(try await storage.tasks.listTasks(userID: user.id, query: TaskQuery()).items.isEmpty)
        }
    }

    @Test(arguments: backends)
    func completingSubTasksReachesEveryLevelAndOnlyWritableOnes(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage), viewer = try await makeUser(storage)
            let parent = try await Self.add(storage, user, "parent")
            var child = TodoTask.new(TaskFields(title: "child"), userID: user.id, at: .now())
            child.parentID = parent.id
            let storedChild = try #require(try await storage.tasks.insertTask(child, limit: taskLimit))
            var grandchild = TodoTask.new(TaskFields(title: "grandchild"), userID: user.id, at: .now())
            grandchild.parentID = storedChild.id
            let storedGrandchild = try #require(try await storage.tasks.insertTask(grandchild, limit: taskLimit))
            let inbox = try await Self.inbox(storage, user)
            #expect(try await storage.projects.setMember(viewer.id, role: .viewer, projectID: inbox.id, at: .now()))
            #expect(try await storage.tasks.completeSubtasks(of: parent.id, by: viewer.id, at: .now()) == 0)
            #expect(try await storage.tasks.completeSubtasks(of: parent.id, by: user.id, at: .now()) == 2)
            for id in [storedChild.id, storedGrandchild.id] {
                let done = try #require(try await storage.tasks.task(id: id, userID: user.id))
                #expect(done.fields.completed && done.completedAt != nil && done.version == 2)
            }
            #expect(try await storage.tasks.task(id: parent.id, userID: user.id)?.fields.completed == false)
            #expect(try await storage.tasks.completeSubtasks(of: parent.id, by: user.id, at: .now()) == 0)
        }
    }

    @Test(arguments: backends)
    func aTaskCountsItsSubTasksAndTheCompletedOnes(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let parent = try await Self.add(storage, user, "parent")
            var children: [TodoTask] = []
            for title in ["a", "b", "c"] {
                var child = TodoTask.new(TaskFields(title: title, completed: title == "c"), userID: user.id, at: .now())
                child.parentID = parent.id
                children.append(try #require(try await storage.tasks.insertTask(child, limit: taskLimit)))
            }
            func progress() async throws -> [Int] {
                let task = try #require(try await storage.tasks.task(id: parent.id, userID: user.id))
                return [task.subtaskCount, task.subtasksDone]
            }
            #expect(try await progress() == [3, 1])
            #expect(try await storage.tasks.saveTask(children[0].replacingFields(with: TaskFields(title: "a", completed: true), at: .now()), expectedVersion: 1))
            #expect(try await progress() == [3, 2])
            var detached = children[1].replacingFields(with: children[1].fields, at: .now())
            detached.parentID = nil
            #expect(try await storage.tasks.saveTask(detached, expectedVersion: 1))
            #expect(try await progress() == [2, 2])
            #expect(try await storage.tasks.deleteTask(id: children[2].id, userID: user.id, expectedVersion: nil) == .deleted)
            #expect(try await progress() == [1, 1])
            #expect(try await storage.tasks.listTasks(userID: user.id, query: TaskQuery()).items.first { $0.id == parent.id }?.subtaskCount == 1)
        }
    }

    @Test(arguments: backends)
    func aTaskGivenANeighboursPositionGoesBeforeItAndTheProjectIsRenumbered(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            var tasks: [TodoTask] = []
            for title in ["one", "two", "three"] { tasks.append(try await Self.add(storage, user, title)) }
            let project = try #require(tasks[0].projectID)
            #expect(try await storage.tasks.settlePosition(tasks[2].position!, of: tasks[2].id, in: project) == false)
            var moved = tasks[2].replacingFields(with: tasks[2].fields, at: .now())
            moved.position = tasks[1].position
            #expect(try await storage.tasks.saveTask(moved, expectedVersion: 1))
            #expect(try await storage.tasks.settlePosition(tasks[1].position!, of: tasks[2].id, in: project))
            var query = TaskQuery()
            query.sort = .init(field: .position, descending: false)
            let listed = try await storage.tasks.listTasks(userID: user.id, query: query).items
            #expect(listed.map(\.fields.title) == ["one", "three", "two"])
            #expect(listed.map(\.position) == [1, 2, 3].map { $0 * ManualOrder.step })
        }
    }
}
