import Foundation

/// The task operations behind the tools, whatever carries them (the MCP server implements
/// them with the backend API, acting as the caller).
public protocol TaskOperations: Sendable {
    /// Creates a task in `projectID`, or in the Inbox without one.
    func add(_ fields: TaskFields, projectID: ProjectID?) async throws -> TodoTask
    /// The projects the user is a member of.
    func projects() async throws -> [Project]
    func list(_ query: TaskQuery) async throws -> TaskPage
    func complete(_ id: TaskID, completed: Bool) async throws -> TodoTask
    func update(_ id: TaskID, _ patch: TaskPatch) async throws -> TodoTask
    func delete(_ id: TaskID) async throws
}

/// The task tools, defined once: their names, descriptions and JSON schemas (with the limits
/// of `TaskLimits` and `TaskQuery`), and how a call's arguments become a `TaskOperations` call.
/// The MCP server offers exactly these; the assistant offers the model exactly these.
public enum TaskTool: String, CaseIterable, Sendable {
    case addTask = "add_task"
    case listTasks = "list_tasks"
    case searchTasks = "search_tasks"
    case listProjects = "list_projects"
    case completeTask = "complete_task"
    case updateTask = "update_task"
    case deleteTask = "delete_task"

    public var name: String { rawValue }

    public var description: String {
        switch self {
        case .addTask: "Create a task for the user."
        case .listTasks: "List the user's tasks, optionally filtered by status, priority, tag or due range."
        case .searchTasks: "Find the user's tasks whose title or description contains the query (case-insensitive)."
        case .listProjects: "List the user's projects (their Inbox, their own and those shared with them) with open and overdue counts."
        case .completeTask: "Mark a task complete (or incomplete with completed: false)."
        case .updateTask: "Change some fields of a task; fields not given stay as they are."
        case .deleteTask: "Delete a task for good."
        }
    }

    /// What a call does to the user's tasks: the assistant asks the user before a call that
    /// deletes, or before changing more than one task.
    public enum Effect: Sendable {
        case reads, creates, changes, deletes
    }

    public var effect: Effect {
        switch self {
        case .listTasks, .searchTasks, .listProjects: .reads
        case .addTask: .creates
        case .completeTask, .updateTask: .changes
        case .deleteTask: .deletes
        }
    }

    /// JSON Schema of the arguments.
    public var inputSchema: JSONValue {
        switch self {
        case .addTask:
            Schema.object(Schema.writableFields.merging(["project": Schema.project]) { $1 }, required: ["title"])
        case .listTasks:
            Schema.object(Schema.listFilters)
        case .searchTasks:
            Schema.object(Schema.listFilters.merging(["query": Schema.string(length: 1...TaskQuery.maximumSearchLength)]) { $1 },
                          required: ["query"])
        case .listProjects:
            Schema.object([:])
        case .completeTask:
            Schema.object(["task_id": Schema.taskID, "completed": ["type": "boolean", "description": "Default true."]], required: ["task_id"])
        case .updateTask:
            Schema.object(Schema.writableFields.merging(["task_id": Schema.taskID]) { $1 }, required: ["task_id"])
        case .deleteTask:
            Schema.object(["task_id": Schema.taskID], required: ["task_id"])
        }
    }

    /// JSON Schema of the structured result.
    public var outputSchema: JSONValue {
        switch self {
        case .addTask, .completeTask, .updateTask:
            ["type": "object", "properties": ["task": Schema.task], "required": ["task"]]
        case .listTasks, .searchTasks:
            [
                "type": "object",
                "properties": ["tasks": ["type": "array", "items": Schema.task], "next_cursor": ["type": ["string", "null"]]],
                "required": ["tasks"],
            ]
        case .deleteTask:
            ["type": "object", "properties": ["deleted": ["type": "string"]], "required": ["deleted"]]
        case .listProjects:
            ["type": "object", "properties": ["projects": ["type": "array", "items": Schema.projectResult]], "required": ["projects"]]
        }
    }

    /// What a tool gave back: a line of text for the model and the structured result.
    public struct Result: Sendable, Equatable {
        public var summary: String
        public var structured: JSONValue
    }

    /// Arguments that do not fit the tool's schema.
    public struct ArgumentError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs the tool with `arguments` on `operations`. Bad arguments throw `ArgumentError` or
    /// `ValidationError`; the operations' own errors pass through.
    public func run(_ arguments: [String: JSONValue], on operations: some TaskOperations) async throws -> Result {
        switch self {
        case .addTask:
            let fields = try TaskFields(json: .object(arguments.filter { $0.key != "project" }))
            let task = try await operations.add(fields, projectID: try await Self.project(arguments, on: operations))
            return try Self.result("Added task \(task.id): \(task.fields.title)", task: task)
        case .listTasks, .searchTasks:
            var parameters = try Self.listParameters(arguments)
            if let project = try await Self.project(arguments, on: operations) { parameters.append(("project", String(project))) }
            if self == .searchTasks {
                guard case .string(let query)? = arguments["query"] else { throw ArgumentError(description: "query is required") }
                parameters.append(("q", query))
            }
            let page = try await operations.list(try TaskQuery(parameters: parameters))
            let lines = page.items.map(Self.line).joined(separator: "\n")
            let summary = page.items.isEmpty ? "No tasks found." : "\(page.items.count) task(s):\n\(lines)"
            return Result(summary: summary, structured: [
                "tasks": .array(try page.items.map(Self.json)), "next_cursor": page.nextCursor.map { .string($0.token) } ?? .null,
            ])
        case .completeTask:
            var completed = true
            if case .bool(let flag)? = arguments["completed"] { completed = flag }
            let task = try await operations.complete(try Self.taskID(arguments), completed: completed)
            return try Self.result("\(completed ? "Completed" : "Reopened") task \(task.id): \(task.fields.title)", task: task)
        case .updateTask:
            let id = try Self.taskID(arguments)
            let fields = arguments.filter { $0.key != "task_id" }
            guard !fields.isEmpty else { throw ArgumentError(description: "nothing to change: give title, description, priority, tags or due_at") }
            let task = try await operations.update(id, try TaskPatch(json: .object(fields)))
            return try Self.result("Updated task \(task.id): \(task.fields.title)", task: task)
        case .deleteTask:
            let id = try Self.taskID(arguments)
            try await operations.delete(id)
            return Result(summary: "Deleted task \(id).", structured: ["deleted": .string(String(id))])
        case .listProjects:
            let projects = try await operations.projects()
            let summary = projects.isEmpty ? "No projects." : "\(projects.count) project(s):\n" + projects.map(Self.line).joined(separator: "\n")
            return Result(summary: summary, structured: ["projects": .array(try projects.map(Self.json))])
        }
    }

    /// The `project` argument, a project's name (any case) or id, as the id of one of the user's
    /// projects; nil when not given.
    static func project(_ arguments: [String: JSONValue], on operations: some TaskOperations) async throws -> ProjectID? {
        guard let value = arguments["project"] else { return nil }
        guard case .string(let raw) = value, case let name = TextRules.trimmed(raw), !name.isEmpty else {
            throw ArgumentError(description: "project must be a project's name or id")
        }
        let projects = try await operations.projects()
        if let id = ProjectID(name), projects.contains(where: { $0.id == id }) { return id }
        guard let project = projects.named(name) else {
            throw ArgumentError(description: "No project is named “\(name)”; list_projects gives the user's projects.")
        }
        return project.id
    }

    static func taskID(_ arguments: [String: JSONValue]) throws -> TaskID {
        switch arguments["task_id"] {
        case .string(let text)?: if let id = TaskID(text.trimmingCharacters(in: .whitespaces)), id > 0 { return id }
        case .integer(let number)?: if number > 0 { return number }
        default: break
        }
        throw ArgumentError(description: "task_id must be a task id such as \"12\"")
    }

    /// The list arguments as the query parameters they stand for, read with `TaskQuery(parameters:)`.
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
        default: throw ArgumentError(description: "limit must be a whole number from 1 to \(TaskQuery.maximumLimit)")
        }
        return parameters
    }

    static func result(_ summary: String, task: TodoTask) throws -> Result {
        Result(summary: summary, structured: ["task": try json(task)])
    }

    /// One line per task for the text form of a result.
    static func line(_ task: TodoTask) -> String {
        var parts = ["[\(task.fields.completed ? "x" : " ")] \(task.id): \(task.fields.title)"]
        if task.fields.priority != .none { parts.append("!\(task.fields.priority.rawValue)") }
        parts += task.fields.tags.map { "#\($0)" }
        if let due = task.fields.dueAt { parts.append("due \(due.rfc3339)") }
        return parts.joined(separator: " ")
    }

    static func line(_ project: Project) -> String {
        var parts = ["\(project.name) (project \(project.id)): \(project.openCount) open, \(project.overdueCount) overdue"]
        if project.isInbox { parts.append("inbox") }
        if project.role != .owner { parts.append("shared with the user as \(project.role.rawValue)") }
        if project.archived { parts.append("archived") }
        return parts.joined(separator: ", ")
    }

    /// A task or project in its wire format.
    static func json(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// The schema pieces the tools share.
    enum Schema {
        static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
            var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
            if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
            return .object(schema)
        }

        static func string(length: ClosedRange<Int>) -> JSONValue {
            ["type": "string", "minLength": .integer(Int64(length.lowerBound)), "maxLength": .integer(Int64(length.upperBound))]
        }

        static func integer(_ range: ClosedRange<Int>, description: String? = nil) -> JSONValue {
            var schema: [String: JSONValue] = [
                "type": "integer", "minimum": .integer(Int64(range.lowerBound)), "maximum": .integer(Int64(range.upperBound)),
            ]
            if let description { schema["description"] = .string(description) }
            return .object(schema)
        }

        static let priority: JSONValue = ["type": "string", "enum": .array(Priority.allCases.reversed().map { .string($0.rawValue) })]
        static let taskID: JSONValue = ["type": "string", "description": "The task's id, as returned by the other tools (a number in a string)."]
        static let time: JSONValue = ["type": "string", "format": "date-time"]
        static let dueAt: JSONValue = [
            "type": ["string", "null"], "format": "date-time",
            "description": "RFC 3339 time, e.g. 2026-01-31T09:00:00Z; null clears it",
        ]
        static let tags: JSONValue = [
            "type": "array", "items": string(length: TaskLimits.tagLength), "maxItems": .integer(Int64(TaskLimits.maxTags)),
        ]
        static let recurrence: JSONValue = [
            "type": ["object", "null"],
            "description": "Repeat the task (needs due_at); completing it creates the next occurrence.",
            "properties": [
                "frequency": ["type": "string", "enum": .array(Recurrence.Frequency.allCases.map { .string($0.rawValue) })],
                "interval": integer(TaskLimits.recurrenceInterval),
                "count": integer(TaskLimits.recurrenceCount), "until": time,
                "timezone": ["type": "string", "description": "IANA time zone for the schedule"],
            ],
            "required": ["frequency"],
        ]
        /// What add and update may set.
        static let writableFields: [String: JSONValue] = [
            "title": string(length: TaskLimits.titleLength),
            "description": string(length: 0...TaskLimits.descriptionMaxLength),
            "priority": priority, "tags": tags, "due_at": dueAt, "recurrence": recurrence,
        ]
        static let listFilters: [String: JSONValue] = [
            "project": project,
            "status": ["type": "string", "enum": ["all", "pending", "completed"], "description": "Default all."],
            "priority": priority,
            "tag": ["type": "string", "description": "Only tasks with this tag."],
            "due_after": time,
            "due_before": time,
            "sort": ["type": "string", "enum": .array(TaskQuery.SortField.allCases.flatMap { [.string($0.rawValue), .string("-" + $0.rawValue)] })],
            "limit": integer(1...TaskQuery.maximumLimit, description: "Default \(TaskQuery.defaultLimit)."),
            "cursor": ["type": "string", "description": "next_cursor of a previous answer."],
        ]
        static let project: JSONValue = [
            "type": "string",
            "description": "A project's name as list_projects gives it (any case), or its id. Default: the Inbox when adding, every project when listing.",
        ]
        static let projectResult: JSONValue = [
            "type": "object",
            "properties": [
                "id": ["type": "string"], "name": ["type": "string"], "color": ["type": ["string", "null"]],
                "archived": ["type": "boolean"], "is_inbox": ["type": "boolean"],
                "role": ["type": "string", "enum": .array(ProjectRole.allCases.map { .string($0.rawValue) })],
                "open_count": ["type": "integer"], "overdue_count": ["type": "integer"],
            ],
            "required": ["id", "name", "role"],
        ]
        static let task: JSONValue = [
            "type": "object",
            "properties": [
                "id": ["type": "string"], "title": ["type": "string"], "description": ["type": "string"],
                "completed": ["type": "boolean"], "priority": priority, "tags": tags,
                "due_at": ["type": ["string", "null"]], "remind_at": ["type": ["string", "null"]],
                "recurrence": ["type": ["object", "null"]], "completed_at": ["type": ["string", "null"]],
                "created_at": ["type": "string"], "updated_at": ["type": "string"],
                "project_id": ["type": "string"], "parent_id": ["type": ["string", "null"]],
            ],
            "required": ["id", "title", "completed", "priority", "tags"],
        ]
    }
}
