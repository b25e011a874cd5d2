/// The JSON document of `GET /api/{user_id}/export` and `POST /api/{user_id}/import`:
/// `{format: "todo-export", version: 1, exported_at, tasks: [task, ...]}`. Importing an export
/// gives back the same tasks: every field including the creation, update and completion times
/// (ids are new).
public struct TaskExport: Sendable, Encodable {
    public static let format = "todo-export"
    public static let version = 1
    public static let maximumTasks = 10_000

    public var exportedAt: Timestamp
    public var tasks: [TodoTask]

    public init(exportedAt: Timestamp, tasks: [TodoTask]) {
        self.exportedAt = exportedAt
        self.tasks = tasks
    }

    enum CodingKeys: String, CodingKey {
        case format, version, tasks
        case exportedAt = "exported_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.format, forKey: .format)
        try container.encode(Self.version, forKey: .version)
        try container.encode(exportedAt, forKey: .exportedAt)
        try container.encode(tasks, forKey: .tasks)
    }

    /// Reads and validates a whole document; every bad task is reported with its index.
    /// The tasks come back owned by `userID`, with ids to be assigned by the store.
    public static func tasks(from json: JSONValue, userID: UserID, now: Timestamp) throws(ValidationError) -> [TodoTask] {
        guard case .object(let object) = json else { throw ValidationError(field: "body", "must be a JSON object") }
        var issues = IssueCollector()
        for key in object.keys.sorted() where !["format", "version", "exported_at", "tasks"].contains(key) {
            issues.add(key, "unknown field")
        }
        if object["format"] != .string(format) { issues.add("format", "must be \"\(format)\"") }
        if object["version"] != .integer(Int64(version)) { issues.add("version", "must be \(version)") }
        guard case .array(let items)? = object["tasks"] else {
            issues.add("tasks", "must be an array of tasks")
            try issues.throwIfAny()
            return []
        }
        if items.count > maximumTasks { issues.add("tasks", "at most \(maximumTasks) tasks per import") }
        try issues.throwIfAny()
        var tasks: [TodoTask] = []
        for (index, item) in items.enumerated() {
            do {
                tasks.append(try task(from: item, userID: userID, now: now))
            } catch {
                for issue in error.issues { issues.add("tasks[\(index)].\(issue.field)", issue.message) }
            }
        }
        try issues.throwIfAny()
        return tasks
    }

    static func task(from json: JSONValue, userID: UserID, now: Timestamp) throws(ValidationError) -> TodoTask {
        let fields = try TaskFields(json: json)
        guard case .object(let object) = json else { throw ValidationError(field: "body", "must be a JSON object") }
        var issues = IssueCollector()
        func time(_ name: String) -> Timestamp? {
            guard let value = object[name], value != .null else { return nil }
            return TaskPatch.time(value, field: name, &issues)
        }
        let createdAt = time("created_at") ?? now
        let updatedAt = time("updated_at") ?? createdAt
        let completedAt = fields.completed ? (time("completed_at") ?? updatedAt) : nil
        try issues.throwIfAny()
        var task = TodoTask.new(fields, userID: userID, at: createdAt)
        task.updatedAt = updatedAt
        task.completedAt = completedAt
        return task
    }
}
