/// The JSON document of `GET /api/{user_id}/export` and `POST /api/{user_id}/import`:
/// `{format: "todo-export", version: 2, exported_at, projects: [project, ...], tasks: [task, ...]}`,
/// every project the user is a member of (the Inbox included) and every task in them. Importing
/// an export gives back the same projects and tasks: every field including the creation, update
/// and completion times, sub-tasks under their parents, the manual order (ids are new; members and
/// assignees stay behind, as the projects made are the importer's alone). Version 1 documents
/// (`tasks` only) still import, into the Inbox.
public struct TaskExport: Sendable, Encodable {
    public static let format = "todo-export"
    public static let version = 2
    public static let maximumTasks = 10_000

    public var exportedAt: Timestamp
    public var projects: [Project]
    public var tasks: [TodoTask]

    public init(exportedAt: Timestamp, projects: [Project], tasks: [TodoTask]) {
        self.exportedAt = exportedAt
        self.projects = projects
        self.tasks = tasks
    }

    enum CodingKeys: String, CodingKey {
        case format, version, projects, tasks
        case exportedAt = "exported_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.format, forKey: .format)
        try container.encode(Self.version, forKey: .version)
        try container.encode(exportedAt, forKey: .exportedAt)
        try container.encode(projects, forKey: .projects)
        try container.encode(tasks, forKey: .tasks)
    }

    /// Reads and validates a whole document, version 1 or 2; every bad entry is reported with its
    /// index. The tasks come back owned by `userID`, with ids to be assigned by the store.
    public static func plan(from json: JSONValue, userID: UserID, now: Timestamp) throws(ValidationError) -> ImportPlan {
        guard case .object(let object) = json else { throw ValidationError(field: "body", "must be a JSON object") }
        var issues = IssueCollector()
        if object["format"] != .string(format) { issues.add("format", "must be \"\(format)\"") }
        let fileVersion: Int? = if case .integer(let number)? = object["version"], 1...Int64(version) ~= number { Int(number) } else { nil }
        if fileVersion == nil { issues.add("version", "must be 1 or \(version)") }
        let known = fileVersion == 1 ? ["format", "version", "exported_at", "tasks"] : ["format", "version", "exported_at", "projects", "tasks"]
        for key in object.keys.sorted() where !known.contains(key) { issues.add(key, "unknown field") }
        guard case .array(let items)? = object["tasks"] else {
            issues.add("tasks", "must be an array of tasks")
            try issues.throwIfAny()
            return ImportPlan(tasks: [])
        }
        if items.count > maximumTasks { issues.add("tasks", "at most \(maximumTasks) tasks per import") }
        try issues.throwIfAny()
        if fileVersion == 1 {
            return ImportPlan(tasks: try readEach(items, "tasks") { item throws(ValidationError) in
                ImportPlan.Entry(task: try task(from: item, userID: userID, now: now).task)
            })
        }
        var reader = ExportReader()
        if let projects = object["projects"] {
            guard case .array(let projects) = projects else { throw ValidationError(field: "projects", "must be an array of projects") }
            try reader.readProjects(projects)
        }
        let placed = try readEach(items, "tasks") { item throws(ValidationError) in
            let (task, placement) = try task(from: item, userID: userID, now: now)
            return ExportReader.PlacedTask(task: task, placement: placement, id: try taskID(of: item))
        }
        return try reader.plan(placed)
    }

    /// `read` of every item; the issues of all of them, each under `field[index].`.
    static func readEach<Item>(_ items: [JSONValue], _ field: String, _ read: (JSONValue) throws(ValidationError) -> Item) throws(ValidationError) -> [Item] {
        var issues = IssueCollector()
        var values: [Item] = []
        for (index, item) in items.enumerated() {
            do {
                values.append(try read(item))
            } catch {
                for issue in error.issues { issues.add("\(field)[\(index)].\(issue.field)", issue.message) }
            }
        }
        try issues.throwIfAny()
        return values
    }

    /// A task of the file, and where the file puts it (read by version 2 only).
    static func task(from json: JSONValue, userID: UserID, now: Timestamp) throws(ValidationError) -> (task: TodoTask, placement: TaskPatch) {
        let (fields, placement) = try TaskFields.withPlacement(json: json)
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
        return (task, placement)
    }

    /// The task's id in the file, which its sub-tasks name as `parent_id`.
    static func taskID(of json: JSONValue) throws(ValidationError) -> TaskID? {
        guard case .object(let object) = json, let value = object["id"] else { return nil }
        guard case .string(let text) = value, let id = TaskID(text), id > 0 else { throw ValidationError(field: "id", "must be a task id (a string)") }
        return id
    }
}

/// Reads version 2: the file's projects, then its tasks placed in them by the file's ids.
struct ExportReader {
    struct PlacedTask {
        var task: TodoTask
        var placement: TaskPatch
        var id: TaskID?
    }

    /// The index in the plan's projects of each project of the file; the file's Inbox is not
    /// there (its tasks go to the importer's Inbox).
    private var projectIndex: [ProjectID: Int] = [:]
    private var inboxes: Set<ProjectID> = []
    private var projects: [ImportPlan.NewProjectEntry] = []

    mutating func readProjects(_ items: [JSONValue]) throws(ValidationError) {
        if items.count > ProjectLimits.maximumProjects + 1 {
            throw ValidationError(field: "projects", "at most \(ProjectLimits.maximumProjects) projects per import")
        }
        var seen: Set<ProjectID> = []
        let read = try TaskExport.readEach(items, "projects") { item throws(ValidationError) -> (ProjectID, ProjectPatch, Bool) in
            guard case .object(let object) = item else { throw ValidationError(field: "body", "must be a JSON object") }
            guard case .string(let text)? = object["id"], let id = ProjectID(text), id > 0 else {
                throw ValidationError(field: "id", "must be the project's id (a string)")
            }
            guard seen.insert(id).inserted else { throw ValidationError(field: "id", "names another project of this file too") }
            let isInbox = object["is_inbox"] == .bool(true)
            let patch = try ProjectPatch(json: item)
            if !isInbox, patch.name == nil { throw ValidationError(field: "name", "is required") }
            return (id, patch, isInbox)
        }
        // In the file's order of projects: the new ones go after the importer's own.
        let ordered = read.enumerated().sorted { ($0.element.1.position ?? 0, $0.offset) < ($1.element.1.position ?? 0, $1.offset) }
        for (_, (id, patch, isInbox)) in ordered {
            if isInbox {
                inboxes.insert(id)
                continue
            }
            projectIndex[id] = projects.count
            projects.append(.init(name: patch.name ?? "", color: patch.color ?? nil, archived: patch.archived ?? false))
        }
    }

    /// The plan: parents before their sub-tasks, each project's tasks in their manual order.
    func plan(_ placed: [PlacedTask]) throws(ValidationError) -> ImportPlan {
        var issues = IssueCollector()
        var fileIndex: [TaskID: Int] = [:]
        for (index, entry) in placed.enumerated() {
            guard let id = entry.id else { continue }
            if fileIndex.updateValue(index, forKey: id) != nil { issues.add("tasks[\(index)].id", "names another task of this file too") }
        }
        let destinations = placed.enumerated().map { index, entry -> Int? in
            guard let projectID = entry.placement.projectID, !inboxes.contains(projectID) else { return nil }
            guard let project = projectIndex[projectID] else {
                issues.add("tasks[\(index)].project_id", "names no project of this file")
                return nil
            }
            return project
        }
        var parents: [Int?] = []
        for (index, entry) in placed.enumerated() {
            let parent = (entry.placement.parentID ?? nil).flatMap { fileIndex[$0] }
            if let parentID = entry.placement.parentID ?? nil, parent == nil {
                issues.add("tasks[\(index)].parent_id", "names no task of this file (\(parentID))")
            } else if let parent, destinations[parent] != destinations[index] {
                issues.add("tasks[\(index)].parent_id", "must be a task of the same project")
            }
            parents.append(parent)
        }
        try issues.throwIfAny()
        let levels = try Self.levels(parents)
        let order = placed.indices.sorted {
            (levels[$0], destinations[$0] ?? -1, placed[$0].placement.position ?? .infinity, $0)
                < (levels[$1], destinations[$1] ?? -1, placed[$1].placement.position ?? .infinity, $1)
        }
        var newIndex = [Int](repeating: 0, count: placed.count)
        for (new, old) in order.enumerated() { newIndex[old] = new }
        let entries = order.map { old in
            var task = placed[old].task
            // The Inbox has tasks already: the imported ones go after them, in the file's order.
            task.position = destinations[old] == nil ? nil : placed[old].placement.position
            return ImportPlan.Entry(task: task, project: destinations[old], parent: parents[old].map { newIndex[$0] })
        }
        return ImportPlan(projects: projects, tasks: entries)
    }

    /// The level of each task (0 at the top), refusing nesting deeper than ours and cycles.
    static func levels(_ parents: [Int?]) throws(ValidationError) -> [Int] {
        var issues = IssueCollector()
        let levels = parents.indices.map { index in
            var level = 0, above = parents[index]
            while let parent = above, level < TaskLimits.levels {
                level += 1
                above = parents[parent]
            }
            if level >= TaskLimits.levels { issues.add("tasks[\(index)].parent_id", "sub-tasks nest at most \(TaskLimits.levels) levels deep") }
            return level
        }
        try issues.throwIfAny()
        return levels
    }
}
