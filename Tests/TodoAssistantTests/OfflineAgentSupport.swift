import Foundation
import Testing
@testable import TodoAssistant
import TodoCore

/// The offline agent's clock in these tests: Monday 2026-11-23, 15:00 UTC.
enum OfflineAgentFixture {
    static let now = Timestamp(rfc3339: "2026-11-23T15:00:00Z")!

    static func context(zone: String = "UTC") -> ModelContext {
        ModelContext(now: now, timeZone: TimeZone(identifier: zone)!)
    }

    /// The model's first move for `message`, with no conversation before it.
    static func firstMove(_ message: String, zone: String = "UTC") async throws -> ModelReply {
        try await OfflineChatModel().complete(
            messages: [ChatMessage(role: .user, content: message, createdAt: now)], tools: TaskBook.specs, context: context(zone: zone))
    }

    /// The tool calls of the model's first move for `message`.
    static func firstCalls(_ message: String, zone: String = "UTC") async throws -> [Call] {
        try await firstMove(message, zone: zone).toolCalls.map(Call.init)
    }

    /// One turn of the real tool loop (`Agent`) with the offline model and `book` as its tools.
    static func converse(_ message: String, with book: TaskBook = TaskBook(), zone: String = "UTC") async -> Exchange {
        // `.init(label:)`: the test target declares TodoAssistant and TodoCore only, not Logging.
        let agent = Agent(model: OfflineChatModel(), logger: .init(label: "offline-agent-tests"))
        let turn = await agent.respond(to: message, history: [], tools: book, context: context(zone: zone))
        return Exchange(calls: turn.toolCalls.map(Call.init), reply: turn.response, messages: turn.messages)
    }
}

extension OfflineAgentFixture {
    /// A request the agent holds for confirmation ("delete task 3"), then "yes": the calls of both
    /// turns, the question asked after the first and the answer to the second.
    static func converseConfirming(_ message: String, with book: TaskBook = TaskBook()) async -> (question: String, exchange: Exchange) {
        let agent = Agent(model: OfflineChatModel(), logger: .init(label: "offline-agent-tests"))
        let asked = await agent.respond(to: message, history: [], tools: book, context: context())
        let confirmed = await agent.respond(to: "yes", history: asked.messages, tools: book, context: context())
        let calls = (asked.toolCalls + confirmed.toolCalls).map(Call.init)
        return (asked.response, Exchange(calls: calls, reply: confirmed.response, messages: asked.messages + confirmed.messages))
    }
}

/// What one turn did: the tools it called, in order, and the answer the user saw.
struct Exchange {
    var calls: [Call]
    var reply: String
    var messages: [ChatMessage]
}

/// A tool call as the tests state it: the tool's name and its arguments.
struct Call: Equatable, Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String: JSONValue]

    init(name: String, arguments: [String: JSONValue]) {
        self.name = name
        self.arguments = arguments
    }

    init(_ call: ToolCall) {
        self.init(name: call.name, arguments: call.arguments.objectValue ?? ["<not an object>": call.arguments])
    }

    var testDescription: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(arguments)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return "\(name)\(json)"
    }

    static func add(_ title: String, priority: String? = nil, tags: [String] = [], due: String? = nil, recurrence: JSONValue? = nil) -> Call {
        var arguments: [String: JSONValue] = ["title": .string(title)]
        if let priority { arguments["priority"] = .string(priority) }
        if !tags.isEmpty { arguments["tags"] = .array(tags.map(JSONValue.string)) }
        if let due { arguments["due_at"] = .string(due) }
        if let recurrence { arguments["recurrence"] = recurrence }
        return Call(name: "add_task", arguments: arguments)
    }

    static func list(_ arguments: [String: JSONValue] = [:]) -> Call {
        Call(name: "list_tasks", arguments: arguments)
    }

    static func search(_ query: String) -> Call {
        Call(name: "search_tasks", arguments: ["query": .string(query)])
    }

    static func complete(_ id: TaskID) -> Call {
        Call(name: "complete_task", arguments: ["task_id": .string(String(id)), "completed": .bool(true)])
    }

    static func reopen(_ id: TaskID) -> Call {
        Call(name: "complete_task", arguments: ["task_id": .string(String(id)), "completed": .bool(false)])
    }

    static func delete(_ id: TaskID) -> Call {
        Call(name: "delete_task", arguments: ["task_id": .string(String(id))])
    }

    static func update(_ id: TaskID, _ changes: [String: JSONValue]) -> Call {
        Call(name: "update_task", arguments: changes.merging(["task_id": .string(String(id))]) { $1 })
    }
}

/// An in-memory stand-in for the MCP server's six task tools. Results have the MCP server's
/// shapes (`{"task": ...}`, `{"tasks": [...], "next_cursor": null}`, `{"deleted": "3"}`), task ids
/// are strings, and problems come back as error results, as the real tools do. The real MCP
/// path is covered end to end by tests/e2e/test_assistant.py.
actor TaskBook: ToolRunner {
    static let specs = ["add_task", "list_tasks", "search_tasks", "list_projects", "complete_task", "update_task", "delete_task"].map {
        ToolSpec(name: $0, description: $0, parameters: .object(["type": "object"]))
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    private(set) var tasks: [[String: JSONValue]]
    /// The names of the user's projects; a task added to one carries its name as "project".
    let projects = ["Inbox", "Groceries", "Home Office"]
    /// Tool name → the text of the error result that tool gives.
    private let failing: [String: String]
    /// Tools that throw instead of answering (a broken connection mid-turn).
    private let throwing: Set<String>
    private let unavailable: Bool

    /// `tasks` get the ids 1, 2, 3, ... in order.
    init(_ tasks: [[String: JSONValue]] = [], failing: [String: String] = [:], throwing: Set<String> = [], unavailable: Bool = false) {
        self.tasks = tasks.enumerated().map { index, task in task.merging(["id": .string(String(index + 1))]) { $1 } }
        self.failing = failing
        self.throwing = throwing
        self.unavailable = unavailable
    }

    init(titles: [String]) {
        self.init(titles.map { Self.task($0) })
    }

    static func task(_ title: String, completed: Bool = false, priority: String = "none", tags: [String] = [], due: String? = nil) -> [String: JSONValue] {
        ["title": .string(title), "completed": .bool(completed), "priority": .string(priority),
         "tags": .array(tags.map(JSONValue.string)), "due_at": due.map(JSONValue.string) ?? .null]
    }

    func tools() async throws -> [ToolSpec] {
        if unavailable { throw Unavailable() }
        return Self.specs
    }

    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutcome {
        if throwing.contains(name) { throw Unavailable() }
        if let message = failing[name] { return ToolOutcome(text: message, structured: nil, isError: true) }
        let arguments = arguments.objectValue ?? [:]
        switch name {
        case "list_projects":
            let listed = projects.map { JSONValue.object(["name": .string($0)]) }
            return ToolOutcome(text: "\(projects.count) project(s)", structured: .object(["projects": .array(listed)]), isError: false)
        case "add_task":
            if let project = arguments["project"], self.project(project) == nil { return Self.failure("no project named \(project)") }
            var task = Self.task("")
            task.merge(arguments) { $1 }
            task["id"] = .string(String((tasks.compactMap(Self.id).max() ?? 0) + 1))
            tasks.append(task)
            return Self.one(task, "Added task")
        case "list_tasks":
            if let project = arguments["project"], self.project(project) == nil { return Self.failure("no project named \(project)") }
            return Self.page(tasks.filter { Self.matches($0, arguments) })
        case "search_tasks":
            guard case .string(let query)? = arguments["query"] else { return Self.failure("query is required") }
            return Self.page(tasks.filter { Self.title($0).localizedCaseInsensitiveContains(query) })
        case "complete_task", "update_task", "delete_task":
            guard let index = tasks.firstIndex(where: { $0["id"] == arguments["task_id"] }) else {
                return Self.failure("No such task (it may have been deleted, or belong to someone else).")
            }
            if name == "delete_task" {
                tasks.remove(at: index)
                return ToolOutcome(text: "Deleted task.", structured: .object(["deleted": arguments["task_id"]!]), isError: false)
            }
            var changes = arguments.filter { $0.key != "task_id" }
            if name == "complete_task" { changes = ["completed": changes["completed"] ?? .bool(true)] }
            tasks[index].merge(changes) { $1 }
            return Self.one(tasks[index], "Updated task")
        default:
            return Self.failure("unknown tool \(name)")
        }
    }

    /// The project a tool argument names, in any case, as the real tools resolve it.
    private func project(_ argument: JSONValue) -> String? {
        guard case .string(let name) = argument else { return nil }
        return projects.first { $0.caseInsensitiveCompare(name) == .orderedSame }
    }

    private static func id(_ task: [String: JSONValue]) -> TaskID? {
        if case .string(let text)? = task["id"] { return TaskID(text) }
        return nil
    }

    private static func title(_ task: [String: JSONValue]) -> String {
        if case .string(let text)? = task["title"] { return text }
        return ""
    }

    /// The list filters the offline agent uses; RFC 3339 times in one format compare as text.
    private static func matches(_ task: [String: JSONValue], _ filters: [String: JSONValue]) -> Bool {
        if case .string(let status)? = filters["status"], task["completed"] != .bool(status == "completed") { return false }
        if let priority = filters["priority"], task["priority"] != priority { return false }
        if let tag = filters["tag"], case .array(let tags)? = task["tags"], !tags.contains(tag) { return false }
        if case .string(let project)? = filters["project"] {
            guard case .string(let own)? = task["project"], own.caseInsensitiveCompare(project) == .orderedSame else { return false }
        }
        if case .string(let after)? = filters["due_after"] {
            guard case .string(let due)? = task["due_at"], due >= after else { return false }
        }
        if case .string(let before)? = filters["due_before"] {
            guard case .string(let due)? = task["due_at"], due < before else { return false }
        }
        return true
    }

    private static func one(_ task: [String: JSONValue], _ verb: String) -> ToolOutcome {
        ToolOutcome(text: "\(verb): \(title(task))", structured: .object(["task": .object(task)]), isError: false)
    }

    private static func page(_ tasks: [[String: JSONValue]]) -> ToolOutcome {
        ToolOutcome(text: "\(tasks.count) task(s)", structured: .object(["tasks": .array(tasks.map(JSONValue.object)), "next_cursor": .null]),
                    isError: false)
    }

    private static func failure(_ text: String) -> ToolOutcome {
        ToolOutcome(text: text, structured: nil, isError: true)
    }
}
