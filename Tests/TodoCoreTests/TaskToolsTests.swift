import Testing
@testable import TodoCore

/// The tool catalogue: schemas that say what the domain accepts, and calls that reach the operations.
@Suite struct TaskToolsTests {
    @Test(arguments: TaskTool.allCases)
    func everyToolTakesAnObjectWithoutUnknownFields(_ tool: TaskTool) {
        #expect(tool.inputSchema.objectValue?["type"] == "object")
        #expect(tool.inputSchema.objectValue?["additionalProperties"] == false)
        #expect(tool.outputSchema.objectValue?["type"] == "object")
    }

    /// The assistant asks before deletions and before several changes: every tool says which it is.
    @Test func onlyDeleteDeletesAndOnlyCompleteAndUpdateChangeTasks() {
        let effects = Dictionary(uniqueKeysWithValues: TaskTool.allCases.map { ($0, $0.effect) })
        #expect(effects == [.listTasks: .reads, .searchTasks: .reads, .listProjects: .reads, .addTask: .creates,
                            .completeTask: .changes, .updateTask: .changes, .deleteTask: .deletes])
    }

    @Test func schemasCarryTheDomainsLimits() {
        let add = TaskTool.addTask.inputSchema.objectValue?["properties"]?.objectValue ?? [:]
        #expect(add["title"]?.objectValue?["maxLength"] == .integer(Int64(TaskLimits.titleLength.upperBound)))
        #expect(add["description"]?.objectValue?["maxLength"] == .integer(Int64(TaskLimits.descriptionMaxLength)))
        #expect(add["tags"]?.objectValue?["maxItems"] == .integer(Int64(TaskLimits.maxTags)))
        let list = TaskTool.listTasks.inputSchema.objectValue?["properties"]?.objectValue ?? [:]
        #expect(list["limit"]?.objectValue?["maximum"] == .integer(Int64(TaskQuery.maximumLimit)))
        #expect(TaskTool.searchTasks.inputSchema.objectValue?["required"] == ["query"])
    }

    @Test func addRunsTheOperationAndDescribesTheTask() async throws {
        let operations = Recorder()
        let result = try await TaskTool.addTask.run(["title": "Pay rent", "priority": "high"], on: operations)
        #expect(await operations.added.map(\.fields.title) == ["Pay rent"])
        #expect(await operations.added.map(\.projectID) == [nil])
        #expect(result.summary == "Added task 7: Pay rent")
        #expect(result.structured.objectValue?["task"]?.objectValue?["priority"] == "high")
    }

    @Test func searchNeedsAQueryAndListsWhatItFinds() async throws {
        let operations = Recorder()
        await #expect(throws: TaskTool.ArgumentError.self) { try await TaskTool.searchTasks.run([:], on: operations) }
        let result = try await TaskTool.searchTasks.run(["query": "rent", "status": "pending"], on: operations)
        #expect(await operations.queries.map(\.search) == ["rent"])
        #expect(result.summary == "No tasks found.")
    }

    @Test(arguments: [JSONValue.string("x"), .string("0"), .integer(-3), .bool(true)])
    func aBadTaskIDIsRefusedBeforeAnyOperation(_ id: JSONValue) async {
        let operations = Recorder()
        await #expect(throws: TaskTool.ArgumentError.self) { try await TaskTool.deleteTask.run(["task_id": id], on: operations) }
        #expect(await operations.deleted.isEmpty)
    }

    @Test(arguments: ["Groceries", "groceries", " GROCERIES ", "4"])
    func aProjectIsNamedByItsNameInAnyCaseOrByItsID(_ project: String) async throws {
        let operations = Recorder()
        _ = try await TaskTool.addTask.run(["title": "Milk", "project": .string(project)], on: operations)
        _ = try await TaskTool.listTasks.run(["project": .string(project)], on: operations)
        _ = try await TaskTool.searchTasks.run(["query": "milk", "project": .string(project)], on: operations)
        #expect(await operations.added.map(\.projectID) == [4])
        #expect(await operations.queries.map(\.project) == [4, 4])
    }

    @Test func aNameSharedWithAnArchivedProjectMeansTheOneInUse() async throws {
        let operations = Recorder()
        _ = try await TaskTool.addTask.run(["title": "Paint", "project": "house"], on: operations)
        #expect(await operations.added.map(\.projectID) == [9])
    }

    @Test(arguments: [JSONValue.string("Groceries2"), .string(" "), .string("77"), .integer(4)])
    func anUnknownProjectIsRefusedAndNothingIsAdded(_ project: JSONValue) async {
        let operations = Recorder()
        await #expect(throws: TaskTool.ArgumentError.self) {
            try await TaskTool.addTask.run(["title": "Milk", "project": project], on: operations)
        }
        #expect(await operations.added.isEmpty)
    }

    @Test func listProjectsDescribesEachProjectAndTheUsersRole() async throws {
        let result = try await TaskTool.listProjects.run([:], on: Recorder())
        #expect(result.summary == """
            4 project(s):
            Inbox (project 1): 0 open, 0 overdue, inbox
            Groceries (project 4): 3 open, 1 overdue, shared with the user as editor
            House (project 8): 0 open, 0 overdue, archived
            House (project 9): 2 open, 0 overdue
            """)
        guard case .array(let projects)? = result.structured.objectValue?["projects"] else { Issue.record("no projects array"); return }
        #expect(projects.compactMap { $0.objectValue?["name"] } == ["Inbox", "Groceries", "House", "House"])
    }

    @Test func anUpdateWithNothingToChangeIsRefused() async {
        await #expect(throws: TaskTool.ArgumentError.self) { try await TaskTool.updateTask.run(["task_id": "7"], on: Recorder()) }
    }

    /// Task operations that remember what they were asked.
    actor Recorder: TaskOperations {
        var added: [(fields: TaskFields, projectID: ProjectID?)] = []
        var queries: [TaskQuery] = []
        var deleted: [TaskID] = []

        func add(_ fields: TaskFields, projectID: ProjectID?) async throws -> TodoTask {
            added.append((fields, projectID))
            return TodoTask(id: 7, userID: "u", fields: fields, completedAt: nil, version: 1, createdAt: .now(), updatedAt: .now())
        }

        func list(_ query: TaskQuery) async throws -> TaskPage {
            queries.append(query)
            return TaskPage(items: [], nextCursor: nil)
        }

        func projects() async throws -> [Project] {
            [Self.project(1, "Inbox", inbox: true), Self.project(4, "Groceries", role: .editor, open: 3, overdue: 1),
             Self.project(8, "House", archived: true), Self.project(9, "House", open: 2)]
        }

        static func project(_ id: ProjectID, _ name: String, inbox: Bool = false, role: ProjectRole = .owner, archived: Bool = false,
                            open: Int = 0, overdue: Int = 0) -> Project {
            Project(id: id, name: name, color: nil, position: Double(id), archived: archived, isInbox: inbox, role: role,
                    openCount: open, overdueCount: overdue, createdAt: .now(), updatedAt: .now())
        }

        func complete(_ id: TaskID, completed: Bool) async throws -> TodoTask { throw TaskTool.ArgumentError(description: "unused") }
        func update(_ id: TaskID, _ patch: TaskPatch) async throws -> TodoTask { throw TaskTool.ArgumentError(description: "unused") }
        func delete(_ id: TaskID) async throws { deleted.append(id) }
    }
}
