import Foundation
import MCP
import TodoClient
import TodoCore

/// The task tools of the MCP server: the catalogue of `TaskTool`, run with the backend API.
/// Each call acts as the caller: it reaches the API with the caller's own bearer token, so the
/// API's checks (isolation, validation) apply.
public struct TaskTools: Sendable {
    let client: TodoClient

    public init(client: TodoClient) {
        self.client = client
    }

    /// The tools as the MCP SDK describes them.
    static let definitions: [Tool] = TaskTool.allCases.map { tool in
        Tool(name: tool.name, description: tool.description, inputSchema: Value(tool.inputSchema), outputSchema: Value(tool.outputSchema))
    }

    /// Runs a tool. Problems (bad arguments, a task that does not exist, the backend down) come
    /// back as a tool result with `isError`, as MCP asks, so the model can read and recover.
    public func call(_ name: String, arguments: [String: Value], token: String) async -> CallTool.Result {
        guard let tool = TaskTool(rawValue: name) else { return CallTool.Result(content: [Self.text("unknown tool \(name)")], isError: true) }
        do {
            let result = try await tool.run(JSONValue(mcp: .object(arguments)).objectValue ?? [:], on: BackendTasks(client: client, token: token))
            return try CallTool.Result(content: [Self.text(result.summary)], structuredContent: Value(result.structured))
        } catch let error as TodoClientError {
            return CallTool.Result(content: [Self.text(Self.explain(error))], isError: true)
        } catch {
            return CallTool.Result(content: [Self.text("\(error)")], isError: true)
        }
    }

    static func text(_ text: String) -> Tool.Content {
        .text(text: text, annotations: nil, _meta: nil)
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

/// The task operations, as the caller, through the backend API.
struct BackendTasks: TaskOperations {
    let client: TodoClient
    let token: String

    func add(_ fields: TaskFields, projectID: ProjectID?) async throws -> TodoTask {
        try await client.createTask(token: token, fields: fields, projectID: projectID)
    }
    func projects() async throws -> [Project] { try await client.listProjects(token: token) }
    func list(_ query: TaskQuery) async throws -> TaskPage { try await client.listTasks(token: token, query: query) }
    func complete(_ id: TaskID, completed: Bool) async throws -> TodoTask {
        try await client.completeTask(token: token, id: id, completed: completed)
    }
    func update(_ id: TaskID, _ patch: TaskPatch) async throws -> TodoTask { try await client.updateTask(token: token, id: id, patch: patch) }
    func delete(_ id: TaskID) async throws { try await client.deleteTask(token: token, id: id) }
}

extension JSONValue {
    /// The same JSON, from the MCP SDK's value type.
    init(mcp value: MCP.Value) {
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

extension Value {
    /// The same JSON, in the MCP SDK's value type.
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .int(Int(number))
        case .number(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(Value.init))
        case .object(let fields): self = .object(fields.mapValues(Value.init))
        }
    }
}
