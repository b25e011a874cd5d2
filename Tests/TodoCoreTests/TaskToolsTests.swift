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
        #expect(effects == [.listTasks: .reads, .searchTasks: .reads, .addTask: .creates, .completeTask: .changes,
                            .updateTask: .changes, .deleteTask: .deletes])
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
        #expect(await operations.added.map(\.title) == ["Pay rent"])
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

    @Test func anUpdateWithNothingToChangeIsRefused() async {
        await #expect(throws: TaskTool.ArgumentError.self) { try await TaskTool.updateTask.run(["task_id": "7"], on: Recorder()) }
    }

    /// Task operations that remember what they were asked.
    actor Recorder: TaskOperations {
        var added: [TaskFields] = []
        var queries: [TaskQuery] = []
        var deleted: [TaskID] = []

        func add(_ fields: TaskFields) async throws -> TodoTask {
            added.append(fields)
            return TodoTask(id: 7, userID: "u", fields: fields, completedAt: nil, version: 1, createdAt: .now(), updatedAt: .now())
        }

        func list(_ query: TaskQuery) async throws -> TaskPage {
            queries.append(query)
            return TaskPage(items: [], nextCursor: nil)
        }

        func complete(_ id: TaskID, completed: Bool) async throws -> TodoTask { throw TaskTool.ArgumentError(description: "unused") }
        func update(_ id: TaskID, _ patch: TaskPatch) async throws -> TodoTask { throw TaskTool.ArgumentError(description: "unused") }
        func delete(_ id: TaskID) async throws { deleted.append(id) }
    }
}
