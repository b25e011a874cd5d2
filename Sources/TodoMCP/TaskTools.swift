import Foundation
import MCP
import TodoClient
import TodoCore

/// The task tools of the MCP server. Each call acts as the caller: it reaches the backend API
/// with the caller's own bearer token, so the API's checks (isolation, validation) apply.
public struct TaskTools: Sendable {
    let client: TodoClient

    public init(client: TodoClient) {
        self.client = client
    }

    // MARK: Schemas

    static let priority: Value = ["type": "string", "enum": ["high", "medium", "low", "none"]]
    static let taskID: Value = ["type": "string", "description": "The task's id, as returned by the other tools (a number in a string)."]
    static let dueAt: Value = [
        "type": ["string", "null"], "format": "date-time",
        "description": "RFC 3339 time, e.g. 2026-01-31T09:00:00Z; null clears it",
    ]
    static let tags: Value = ["type": "array", "items": ["type": "string"], "maxItems": 20]
    static let recurrence: Value = [
        "type": ["object", "null"],
        "description": "Repeat the task (needs due_at); completing it creates the next occurrence.",
        "properties": [
            "frequency": ["type": "string", "enum": ["daily", "weekly", "monthly", "yearly"]],
            "interval": ["type": "integer", "minimum": 1, "maximum": 999],
            "count": ["type": "integer", "minimum": 1], "until": ["type": "string", "format": "date-time"],
            "timezone": ["type": "string", "description": "IANA time zone for the schedule"],
        ],
        "required": ["frequency"],
    ]
    static let task: Value = [
        "type": "object",
        "properties": [
            "id": ["type": "string"], "title": ["type": "string"], "description": ["type": "string"],
            "completed": ["type": "boolean"], "priority": priority, "tags": tags,
            "due_at": ["type": ["string", "null"]], "remind_at": ["type": ["string", "null"]],
            "recurrence": ["type": ["object", "null"]], "completed_at": ["type": ["string", "null"]],
            "created_at": ["type": "string"], "updated_at": ["type": "string"],
        ],
        "required": ["id", "title", "completed", "priority", "tags"],
    ]
    static let oneTask: Value = ["type": "object", "properties": ["task": task], "required": ["task"]]
    static let taskList: Value = [
        "type": "object",
        "properties": ["tasks": ["type": "array", "items": task], "next_cursor": ["type": ["string", "null"]]],
        "required": ["tasks"],
    ]
    static let listFilters: [String: Value] = [
        "status": ["type": "string", "enum": ["all", "pending", "completed"], "description": "Default all."],
        "priority": priority,
        "tag": ["type": "string", "description": "Only tasks with this tag."],
        "due_after": ["type": "string", "format": "date-time"],
        "due_before": ["type": "string", "format": "date-time"],
        "sort": ["type": "string", "enum": ["created", "-created", "updated", "-updated", "due", "-due", "priority", "-priority", "title", "-title"]],
        "limit": ["type": "integer", "minimum": 1, "maximum": 200, "description": "Default 50."],
        "cursor": ["type": "string", "description": "next_cursor of a previous answer."],
    ]

    public static let definitions: [Tool] = [
        Tool(
            name: "add_task", description: "Create a task for the user.",
            inputSchema: [
                "type": "object",
                "properties": [
                    "title": ["type": "string", "minLength": 1, "maxLength": 200], "description": ["type": "string", "maxLength": 1000],
                    "priority": priority, "tags": tags, "due_at": dueAt, "recurrence": recurrence,
                ],
                "required": ["title"], "additionalProperties": false,
            ],
            outputSchema: oneTask),
        Tool(
            name: "list_tasks", description: "List the user's tasks, optionally filtered by status, priority, tag or due range.",
            inputSchema: ["type": "object", "properties": .object(listFilters), "additionalProperties": false],
            outputSchema: taskList),
        Tool(
            name: "search_tasks", description: "Find the user's tasks whose title or description contains the query (case-insensitive).",
            inputSchema: [
                "type": "object",
                "properties": .object(listFilters.merging(["query": ["type": "string", "minLength": 1, "maxLength": 200]]) { $1 }),
                "required": ["query"], "additionalProperties": false,
            ],
            outputSchema: taskList),
        Tool(
            name: "complete_task", description: "Mark a task complete (or incomplete with completed: false).",
            inputSchema: [
                "type": "object", "properties": ["task_id": taskID, "completed": ["type": "boolean", "description": "Default true."]],
                "required": ["task_id"], "additionalProperties": false,
            ],
            outputSchema: oneTask),
        Tool(
            name: "update_task", description: "Change some fields of a task; fields not given stay as they are.",
            inputSchema: [
                "type": "object",
                "properties": [
                    "task_id": taskID, "title": ["type": "string", "minLength": 1, "maxLength": 200],
                    "description": ["type": "string", "maxLength": 1000], "priority": priority, "tags": tags, "due_at": dueAt,
                    "recurrence": recurrence,
                ],
                "required": ["task_id"], "additionalProperties": false,
            ],
            outputSchema: oneTask),
        Tool(
            name: "delete_task", description: "Delete a task for good.",
            inputSchema: ["type": "object", "properties": ["task_id": taskID], "required": ["task_id"], "additionalProperties": false],
            outputSchema: ["type": "object", "properties": ["deleted": ["type": "string"]], "required": ["deleted"]]),
    ]

    // MARK: Calls

    /// Runs a tool. Problems (bad arguments, a task that does not exist, the backend down) come
    /// back as a tool result with `isError`, as MCP asks, so the model can read and recover.
    public func call(_ name: String, arguments: [String: Value], token: String) async -> CallTool.Result {
        do {
            let output = try await run(name, arguments: JSONValue(mcp: .object(arguments)).objectValue ?? [:], token: token)
            return CallTool.Result(content: [Self.text(output.summary)], structuredContent: output.structured as Value?)
        } catch let error as TodoClientError {
            return CallTool.Result(content: [Self.text(Self.explain(error))], isError: true)
        } catch {
            return CallTool.Result(content: [Self.text("\(error)")], isError: true)
        }
    }

    static func text(_ text: String) -> Tool.Content {
        .text(text: text, annotations: nil, _meta: nil)
    }

    struct Output {
        var summary: String
        var structured: Value
    }

    struct ArgumentError: Error, CustomStringConvertible {
        var description: String
    }

    func run(_ name: String, arguments: [String: JSONValue], token: String) async throws -> Output {
        switch name {
        case "add_task":
            let task = try await client.createTask(token: token, fields: try TaskFields(json: .object(arguments)))
            return try Self.output("Added task \(task.id): \(task.fields.title)", task: task)
        case "list_tasks", "search_tasks":
            var parameters = try Self.listParameters(arguments)
            if name == "search_tasks" {
                guard case .string(let query)? = arguments["query"] else { throw ArgumentError(description: "query is required") }
                parameters.append(("q", query))
            }
            let page = try await client.listTasks(token: token, query: try TaskQuery(parameters: parameters))
            let lines = page.items.map { Self.line($0) }.joined(separator: "\n")
            let summary = page.items.isEmpty ? "No tasks found." : "\(page.items.count) task(s):\n\(lines)"
            return Output(summary: summary, structured: try Self.value(TaskListOutput(tasks: page.items, nextCursor: page.nextCursor?.token)))
        case "complete_task":
            var completed = true
            if case .bool(let flag)? = arguments["completed"] { completed = flag }
            let task = try await client.completeTask(token: token, id: try Self.taskID(arguments), completed: completed)
            return try Self.output("\(completed ? "Completed" : "Reopened") task \(task.id): \(task.fields.title)", task: task)
        case "update_task":
            let id = try Self.taskID(arguments)
            let fields = arguments.filter { $0.key != "task_id" }
            guard !fields.isEmpty else { throw ArgumentError(description: "nothing to change: give title, description, priority, tags or due_at") }
            let task = try await client.updateTask(token: token, id: id, patch: try TaskPatch(json: .object(fields)))
            return try Self.output("Updated task \(task.id): \(task.fields.title)", task: task)
        case "delete_task":
            let id = try Self.taskID(arguments)
            try await client.deleteTask(token: token, id: id)
            return Output(summary: "Deleted task \(id).", structured: ["deleted": .string(String(id))])
        default:
            throw ArgumentError(description: "unknown tool \(name)")
        }
    }

    static func taskID(_ arguments: [String: JSONValue]) throws -> TaskID {
        switch arguments["task_id"] {
        case .string(let text)?: if let id = TaskID(text.trimmingCharacters(in: .whitespaces)), id > 0 { return id }
        case .integer(let number)?: if number > 0 { return number }
        default: break
        }
        throw ArgumentError(description: "task_id must be a task id such as \"12\"")
    }

    /// The list arguments as the query parameters they stand for, to read with `TaskQuery(parameters:)`.
    static func listParameters(_ arguments: [String: JSONValue]) throws -> [(name: String, value: String)] {
        var parameters: [(name: String, value: String)] = []
        for name in ["status", "priority", "tag", "due_after", "due_before", "sort", "cursor"] {
            guard let value = arguments[name] else { continue }
            guard case .string(let text) = value else { throw ArgumentError(description: "\(name) must be a string") }
            parameters.append((name, text))
        }
        switch arguments["limit"] {
        case nil: break
        case .integer(let limit)?: parameters.append(("limit", String(limit)))
        default: throw ArgumentError(description: "limit must be a whole number from 1 to 200")
        }
        return parameters
    }

    struct TaskOutput: Encodable {
        var task: TodoTask
    }

    struct TaskListOutput: Encodable {
        var tasks: [TodoTask]
        var nextCursor: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tasks, forKey: .tasks)
            try container.encode(nextCursor, forKey: .nextCursor)
        }

        enum CodingKeys: String, CodingKey { case tasks, nextCursor = "next_cursor" }
    }

    static func output(_ summary: String, task: TodoTask) throws -> Output {
        Output(summary: summary, structured: try value(TaskOutput(task: task)))
    }

    /// One line per task for the text form of a result.
    static func line(_ task: TodoTask) -> String {
        var parts = ["[\(task.fields.completed ? "x" : " ")] \(task.id): \(task.fields.title)"]
        if task.fields.priority != .none { parts.append("!\(task.fields.priority.rawValue)") }
        parts += task.fields.tags.map { "#\($0)" }
        if let due = task.fields.dueAt { parts.append("due \(due.rfc3339)") }
        return parts.joined(separator: " ")
    }

    static func value(_ encodable: some Encodable) throws -> Value {
        try JSONDecoder().decode(Value.self, from: JSONEncoder().encode(encodable))
    }

    static func explain(_ error: TodoClientError) -> String {
        switch error {
        case .notFound: "No such task (it may have been deleted, or belong to someone else)."
        case .unauthorized(let problem), .forbidden(let problem): "Not allowed: \(problem.message)"
        // A validation message already lists every field's problem.
        case .validation(_, let message): message
        case .conflict(let problem), .unsupported(let problem), .rejected(_, let problem): problem.message
        case .versionConflict: "The task was changed at the same time; read it again and retry."
        case .rateLimited: "Too many requests; wait a moment, then try again."
        case .unavailable: "The task service is unreachable right now; try again shortly."
        case .unexpectedResponse(let detail): "Unexpected answer from the task service: \(detail)"
        }
    }
}

extension JSONValue {
    /// The same JSON, from the MCP SDK's value type.
    init(mcp value: Value) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .integer(Int64(number))
        case .double(let number): self = number.rounded() == number && abs(number) < 1e15 ? .integer(Int64(number)) : .number(number)
        case .string(let text): self = .string(text)
        case .data(_, let data): self = .string(data.base64EncodedString())
        case .array(let items): self = .array(items.map(JSONValue.init(mcp:)))
        case .object(let fields): self = .object(fields.mapValues(JSONValue.init(mcp:)))
        }
    }

}
