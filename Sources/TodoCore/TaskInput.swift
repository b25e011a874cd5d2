import Foundation

/// Limits of the task fields; the OpenAPI document states the same numbers.
public enum TaskLimits {
    public static let titleLength = 1...200
    public static let descriptionMaxLength = 1000
    public static let tagLength = 1...40
    public static let maxTags = 20
    public static let recurrenceInterval = 1...999
    public static let recurrenceCount = 1...10_000
    /// Sub-tasks nest up to this many levels, the task at the top included.
    public static let levels = 4
}

/// A partial change to a task's writable fields, read from a JSON body.
/// A field that is absent stays as it is; `null` clears the optional ones.
public struct TaskPatch: Sendable, Equatable {
    public var title: String?
    public var description: String?
    public var completed: Bool?
    public var priority: Priority?
    public var tags: [String]?
    public var dueAt: Timestamp??
    public var remindAt: Timestamp??
    public var recurrence: Recurrence??
    /// Where the task goes: another project (the caller must be an editor or owner of both)...
    public var projectID: ProjectID?
    /// ...under another parent task, or none (`null`)...
    public var parentID: TaskID??
    /// ...at another place in its project's order (`ManualOrder`).
    public var position: Double?
    /// The member it is assigned to, or nobody (`null`); must be a member of the task's project.
    public var assigneeID: UserID??

    public init() {}

    /// Fields the server owns: a client may send them back (say, after a GET), and they are ignored.
    static let readOnlyFields: Set<String> = [
        "id", "created_at", "updated_at", "completed_at", "subtask_count", "subtasks_done",
    ]
    static let writableFields = [
        "title", "description", "completed", "priority", "tags", "due_at", "remind_at", "recurrence", "project_id", "parent_id", "position",
        "assignee_id",
    ]

    /// Whether the patch moves the task (another project, parent or place).
    public var movesTask: Bool { projectID != nil || parentID != nil || position != nil }

    /// `task` with this patch's project, parent, position and assignee. A task moved to another
    /// project without a position goes to its end, and leaves its parent unless a new one is given.
    public func placed(_ task: TodoTask) -> TodoTask {
        var placed = task
        if let assigneeID { placed.assigneeID = assigneeID }
        if let projectID, projectID != task.projectID {
            placed.projectID = projectID
            placed.position = nil
            placed.parentID = nil
        }
        if let parentID { placed.parentID = parentID }
        if let position { placed.position = position }
        return placed
    }

    /// Reads a JSON object; unknown fields are rejected so that a typo never goes unnoticed.
    public init(json: JSONValue) throws(ValidationError) {
        guard case .object(let object) = json else {
            throw ValidationError(field: "body", "must be a JSON object")
        }
        var issues = IssueCollector()
        for key in object.keys.sorted()
        where !Self.writableFields.contains(key) && !Self.readOnlyFields.contains(key) {
            issues.add(key, "unknown field")
        }
        if let value = object["title"] { title = Self.title(value, &issues) }
        if let value = object["description"] { description = Self.description(value, &issues) }
        if let value = object["completed"] {
            if case .bool(let flag) = value { completed = flag } else { issues.add("completed", "must be a boolean") }
        }
        if let value = object["priority"] { priority = Self.priority(value, &issues) }
        if let value = object["tags"] { tags = Self.tags(value, &issues) }
        if let value = object["due_at"] { dueAt = .some(Self.time(value, field: "due_at", &issues)) }
        if let value = object["remind_at"] { remindAt = .some(Self.time(value, field: "remind_at", &issues)) }
        if let value = object["recurrence"] { recurrence = .some(Self.recurrence(value, &issues)) }
        if let value = object["project_id"] {
            if case .string(let text) = value, let id = ProjectID(text), id > 0 { projectID = id } else {
                issues.add("project_id", "must be a project id (a string)")
            }
        }
        if let value = object["parent_id"] {
            switch value {
            case .null: parentID = .some(nil)
            case .string(let text) where TaskID(text).map { $0 > 0 } == true: parentID = .some(TaskID(text))
            default: issues.add("parent_id", "must be a task id (a string) or null")
            }
        }
        if let value = object["position"] {
            switch value {
            case .integer(let number): position = Double(number)
            case .number(let number) where number.isFinite: position = number
            default: issues.add("position", "must be a number")
            }
        }
        if let value = object["assignee_id"] {
            switch value {
            case .null: assigneeID = .some(nil)
            case .string(let text) where !text.isEmpty: assigneeID = .some(text)
            default: issues.add("assignee_id", "must be a user id (a string) or null")
            }
        }
        try issues.throwIfAny()
    }

    /// The fields after this change, checked as a whole.
    public func applied(to current: TaskFields) throws(ValidationError) -> TaskFields {
        var fields = current
        if let title { fields.title = title }
        if let description { fields.description = description }
        if let completed { fields.completed = completed }
        if let priority { fields.priority = priority }
        if let tags { fields.tags = tags }
        if let dueAt { fields.dueAt = dueAt }
        if let remindAt { fields.remindAt = remindAt }
        if let recurrence { fields.recurrence = recurrence }
        try fields.checkConsistency()
        return fields
    }

    // MARK: Field readers

    static func title(_ value: JSONValue, _ issues: inout IssueCollector) -> String? {
        guard case .string(let raw) = value else {
            issues.add("title", "must be a string")
            return nil
        }
        let text = TextRules.trimmed(raw)
        if TextRules.hasForbiddenControl(text, allowingLineBreaks: false) {
            issues.add("title", "must not contain control characters or line breaks")
        } else if !TaskLimits.titleLength.contains(text.count) {
            issues.add("title", "must be 1 to \(TaskLimits.titleLength.upperBound) characters")
        } else {
            return text
        }
        return nil
    }

    static func description(_ value: JSONValue, _ issues: inout IssueCollector) -> String? {
        switch value {
        case .null:
            return ""
        case .string(let text):
            if TextRules.hasForbiddenControl(text, allowingLineBreaks: true) {
                issues.add("description", "must not contain control characters other than line breaks and tabs")
            } else if text.count > TaskLimits.descriptionMaxLength {
                issues.add("description", "must be at most \(TaskLimits.descriptionMaxLength) characters")
            } else {
                return text
            }
        default:
            issues.add("description", "must be a string")
        }
        return nil
    }

    static func priority(_ value: JSONValue, _ issues: inout IssueCollector) -> Priority? {
        if case .null = value { return Priority.none }
        if case .string(let name) = value, let priority = Priority(rawValue: name) { return priority }
        issues.add("priority", "must be one of high, medium, low, none")
        return nil
    }

    static func tags(_ value: JSONValue, _ issues: inout IssueCollector) -> [String]? {
        if case .null = value { return [] }
        guard case .array(let items) = value else {
            issues.add("tags", "must be an array of strings")
            return nil
        }
        var tags: [String] = []
        var valid = true
        for (index, item) in items.enumerated() {
            guard case .string(let raw) = item else {
                issues.add("tags[\(index)]", "must be a string")
                valid = false
                continue
            }
            switch Tag.normalized(raw) {
            case .success(let tag):
                if !tags.contains(tag) { tags.append(tag) }
            case .failure(let problem):
                issues.add("tags[\(index)]", problem.message)
                valid = false
            }
        }
        if tags.count > TaskLimits.maxTags {
            issues.add("tags", "must hold at most \(TaskLimits.maxTags) tags")
            valid = false
        }
        return valid ? tags : nil
    }

    static func time(_ value: JSONValue, field: String, _ issues: inout IssueCollector) -> Timestamp? {
        switch value {
        case .null:
            return nil
        case .string(let text):
            if let time = Timestamp(rfc3339: text) { return time }
            issues.add(field, "must be an RFC 3339 time such as 2026-01-31T09:00:00Z")
        default:
            issues.add(field, "must be an RFC 3339 time string or null")
        }
        return nil
    }

    static func recurrence(_ value: JSONValue, _ issues: inout IssueCollector) -> Recurrence? {
        if case .null = value { return nil }
        guard case .object(let object) = value else {
            issues.add("recurrence", "must be an object or null")
            return nil
        }
        let before = issues.issues.count
        for key in object.keys.sorted() where !["frequency", "interval", "until", "count", "timezone"].contains(key) {
            issues.add("recurrence.\(key)", "unknown field")
        }
        var frequency: Recurrence.Frequency?
        if case .string(let name)? = object["frequency"], let value = Recurrence.Frequency(rawValue: name) {
            frequency = value
        } else {
            issues.add("recurrence.frequency", "must be one of daily, weekly, monthly, yearly")
        }
        var interval = 1
        switch object["interval"] {
        case nil, .null?: break
        case .integer(let number)? where TaskLimits.recurrenceInterval.contains(Int(clamping: number)):
            interval = Int(number)
        default:
            issues.add("recurrence.interval", "must be a whole number from 1 to 999")
        }
        var count: Int?
        switch object["count"] {
        case nil, .null?: break
        case .integer(let number)? where TaskLimits.recurrenceCount.contains(Int(clamping: number)):
            count = Int(number)
        default:
            issues.add("recurrence.count", "must be a whole number from 1 to 10000")
        }
        var until: Timestamp?
        if let raw = object["until"] { until = time(raw, field: "recurrence.until", &issues) }
        var timezone: String?
        switch object["timezone"] {
        case nil, .null?: break
        case .string(let name)? where TimeZone(identifier: name) != nil && name.count <= 64:
            timezone = name
        default:
            issues.add("recurrence.timezone", "must be an IANA time zone name such as Europe/Berlin")
        }
        guard issues.issues.count == before, let frequency else { return nil }
        return Recurrence(frequency: frequency, interval: interval, until: until, count: count, timezone: timezone)
    }
}

extension TaskFields {
    /// Reads the body of a create (POST) or full replace (PUT): `title` is required and every
    /// absent field takes its default.
    public init(json: JSONValue) throws(ValidationError) {
        let patch = try TaskPatch(json: json)
        guard patch.title != nil else { throw ValidationError(field: "title", "is required") }
        self = try patch.applied(to: TaskFields(title: ""))
    }

    /// Reads the body of a create or replace with where the task goes (`project_id`,
    /// `parent_id`, `position`), reading it once.
    public static func withPlacement(json: JSONValue) throws(ValidationError) -> (fields: TaskFields, placement: TaskPatch) {
        let patch = try TaskPatch(json: json)
        guard patch.title != nil else { throw ValidationError(field: "title", "is required") }
        return (try patch.applied(to: TaskFields(title: "")), patch)
    }

    /// Rules that span several fields.
    public func checkConsistency() throws(ValidationError) {
        if recurrence != nil, dueAt == nil {
            throw ValidationError(field: "recurrence", "needs a due_at to repeat from")
        }
    }
}

/// Tags are compared and stored in one normal form: trimmed, without a leading `#`, lowercase.
public enum Tag {
    public struct Problem: Error, Sendable { public var message: String }

    public static func normalized(_ raw: String) -> Result<String, Problem> {
        var text = TextRules.trimmed(raw)
        if text.hasPrefix("#") { text.removeFirst() }
        text = text.lowercased()
        guard TaskLimits.tagLength.contains(text.count) else {
            return .failure(Problem(message: "must be 1 to \(TaskLimits.tagLength.upperBound) characters"))
        }
        let forbidden = text.unicodeScalars.contains {
            $0.properties.isWhitespace || $0.properties.generalCategory == .control || $0 == ","
        }
        guard !forbidden else {
            return .failure(Problem(message: "must not contain spaces, commas or control characters"))
        }
        return .success(text)
    }
}
