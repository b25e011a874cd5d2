import Foundation
import Testing
import TodoClient
import TodoCore

/// `tools/call`: each tool reaches the backend as the caller and answers with the structured
/// result; problems come back as tool results with `isError`, never as protocol errors.
@Suite struct ToolCallTests {
    @Test func addTaskCreatesTheTaskForTheCaller() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let result = try await mcp.callTool("add_task", [
                "title": "Buy milk", "priority": "high", "tags": ["shop"], "due_at": "2026-12-01T09:00:00Z",
            ], token: token)
            #expect(!result.isError, "\(result.text)")
            let task = try #require(result.structured?["task"])
            #expect(task["title"] == "Buy milk")
            #expect(task["priority"] == "high")
            #expect(task["tags"] == ["shop"])
            let id = try #require(task["id"]?.string.flatMap { TaskID($0) })
            let stored = try await mcp.backend.client.task(token: token, id: id).task
            #expect(stored.fields.title == "Buy milk")
            #expect(stored.fields.priority == .high)
            #expect(stored.fields.dueAt == Timestamp(rfc3339: "2026-12-01T09:00:00Z"))
            #expect(result.text.contains("Buy milk"))
            let someoneElse = try await mcp.signUp()
            #expect(try await mcp.backend.client.listTasks(token: someoneElse).items.isEmpty)
        }
    }

    @Test func listTasksReturnsOnlyTheCallersTasks() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let someoneElse = try await mcp.signUp()
            let client = mcp.backend.client
            _ = try await client.createTask(token: token, fields: TaskFields(title: "Pay rent"))
            _ = try await client.createTask(token: token, fields: TaskFields(title: "Water plants", completed: true))
            _ = try await client.createTask(token: someoneElse, fields: TaskFields(title: "Not yours"))
            let all = try await mcp.callTool("list_tasks", [:], token: token)
            #expect(!all.isError, "\(all.text)")
            #expect(Set(all.titles) == ["Pay rent", "Water plants"])
            #expect(all.structured?["next_cursor"] == .null)
            let pending = try await mcp.callTool("list_tasks", ["status": "pending"], token: token)
            #expect(pending.titles == ["Pay rent"])
        }
    }

    @Test func searchTasksFindsTheCallersTasksIgnoringCase() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let client = mcp.backend.client
            _ = try await client.createTask(token: token, fields: TaskFields(title: "Buy milk"))
            _ = try await client.createTask(token: token, fields: TaskFields(title: "Pay rent"))
            _ = try await client.createTask(token: try await mcp.signUp(), fields: TaskFields(title: "Milk the cow"))
            let found = try await mcp.callTool("search_tasks", ["query": "MILK"], token: token)
            #expect(!found.isError, "\(found.text)")
            #expect(found.titles == ["Buy milk"])
        }
    }

    @Test func updateTaskChangesOnlyTheGivenFields() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let task = try await mcp.backend.client.createTask(token: token, fields: TaskFields(title: "Buy milk", priority: .high))
            let result = try await mcp.callTool("update_task", ["task_id": .string(String(task.id)), "title": "Buy oat milk"], token: token)
            #expect(!result.isError, "\(result.text)")
            #expect(result.structured?["task"]?["title"] == "Buy oat milk")
            let stored = try await mcp.backend.client.task(token: token, id: task.id).task
            #expect(stored.fields.title == "Buy oat milk")
            #expect(stored.fields.priority == .high)
        }
    }

    @Test func completeTaskMarksTheTaskComplete() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let task = try await mcp.backend.client.createTask(token: token, fields: TaskFields(title: "Pay rent"))
            let result = try await mcp.callTool("complete_task", ["task_id": .string(String(task.id))], token: token)
            #expect(!result.isError, "\(result.text)")
            #expect(result.structured?["task"]?["completed"] == true)
            #expect(try await mcp.backend.client.task(token: token, id: task.id).task.fields.completed)
        }
    }

    @Test func completeTaskWithCompletedFalseReopensTheTask() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let task = try await mcp.backend.client.createTask(token: token, fields: TaskFields(title: "Pay rent", completed: true))
            let result = try await mcp.callTool("complete_task", ["task_id": .string(String(task.id)), "completed": false], token: token)
            #expect(!result.isError, "\(result.text)")
            #expect(result.structured?["task"]?["completed"] == false)
            #expect(try await !mcp.backend.client.task(token: token, id: task.id).task.fields.completed)
        }
    }

    @Test func deleteTaskRemovesTheTask() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let task = try await mcp.backend.client.createTask(token: token, fields: TaskFields(title: "Pay rent"))
            let result = try await mcp.callTool("delete_task", ["task_id": .string(String(task.id))], token: token)
            #expect(!result.isError, "\(result.text)")
            #expect(result.structured == ["deleted": .string(String(task.id))])
            await #expect(throws: TodoClientError.notFound) { try await mcp.backend.client.task(token: token, id: task.id) }
        }
    }

    @Test(arguments: BadArguments.cases)
    func badArgumentsComeBackAsAToolErrorNamingTheProblem(_ bad: BadArguments) async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let result = try await mcp.callTool(bad.tool, bad.arguments, token: token)
            #expect(result.isError)
            #expect(result.text.contains(bad.mention), "\(result.text)")
            #expect(try await mcp.backend.client.listTasks(token: token).items.isEmpty)
        }
    }

    @Test(arguments: [
        ("complete_task", ["task_id": "999999"]),
        ("update_task", ["task_id": "999999", "title": "New title"]),
        ("delete_task", ["task_id": "999999"]),
    ] as [(String, JSONValue)])
    func anUnknownTaskIDComesBackAsAToolError(_ tool: String, _ arguments: JSONValue) async throws {
        try await MCPHarness.run { mcp in
            let result = try await mcp.callTool(tool, arguments, token: try await mcp.signUp())
            #expect(result.isError)
            #expect(result.text.contains("No such task"), "\(result.text)")
        }
    }

    @Test func anotherUsersTaskIsUnknownToTheCaller() async throws {
        try await MCPHarness.run { mcp in
            let owner = try await mcp.signUp()
            let task = try await mcp.backend.client.createTask(token: owner, fields: TaskFields(title: "Owner's secret"))
            let result = try await mcp.callTool("complete_task", ["task_id": .string(String(task.id))], token: try await mcp.signUp())
            #expect(result.isError)
            #expect(result.text.contains("No such task"), "\(result.text)")
            #expect(try await !mcp.backend.client.task(token: owner, id: task.id).task.fields.completed)
        }
    }

    @Test func anUnknownToolComesBackAsAToolError() async throws {
        try await MCPHarness.run { mcp in
            let result = try await mcp.callTool("format_disk", [:], token: try await mcp.signUp())
            #expect(result.isError)
            #expect(result.text.contains("format_disk"), "\(result.text)")
        }
    }
}

/// Arguments a tool refuses, and a word its explanation must contain.
struct BadArguments: Sendable, CustomTestStringConvertible {
    var tool: String
    var arguments: JSONValue
    var mention: String

    var testDescription: String { "\(tool) \(String(decoding: (try? JSONEncoder().encode(arguments)) ?? Data(), as: UTF8.self))" }

    static let cases: [BadArguments] = [
        BadArguments(tool: "add_task", arguments: [:], mention: "title"),
        BadArguments(tool: "add_task", arguments: ["title": ""], mention: "title"),
        BadArguments(tool: "add_task", arguments: ["title": "Buy milk", "priority": "urgent"], mention: "priority"),
        BadArguments(tool: "add_task", arguments: ["title": "Buy milk", "due_at": "tomorrow"], mention: "due_at"),
        BadArguments(tool: "add_task", arguments: ["title": "Buy milk", "colour": "red"], mention: "colour"),
        BadArguments(tool: "list_tasks", arguments: ["limit": "ten"], mention: "limit"),
        BadArguments(tool: "list_tasks", arguments: ["status": "someday"], mention: "status"),
        BadArguments(tool: "search_tasks", arguments: [:], mention: "query"),
        BadArguments(tool: "complete_task", arguments: ["task_id": "abc"], mention: "task_id"),
        BadArguments(tool: "update_task", arguments: ["task_id": "1"], mention: "nothing to change"),
    ]
}

extension ToolResult {
    /// The titles of the tasks of a list or search result.
    var titles: [String] {
        structured?["tasks"]?.array?.compactMap { $0["title"]?.string } ?? []
    }
}
