import Foundation

public typealias TaskID = Int64
public typealias UserID = String

/// How urgent a task is. Ordered so that sorting by priority puts `high` last ascending.
public enum Priority: String, Sendable, Codable, CaseIterable, Comparable {
    case none, low, medium, high

    /// The value stored in the database; also the sort order.
    public var rank: Int {
        switch self {
        case .none: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        }
    }

    public init?(rank: Int) {
        guard let match = Self.allCases.first(where: { $0.rank == rank }) else { return nil }
        self = match
    }

    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rank < rhs.rank }
}

/// A task as stored and returned by the API.
public struct TodoTask: Sendable, Equatable, Codable {
    public var id: TaskID
    public var userID: UserID
    public var fields: TaskFields
    public var completedAt: Timestamp?
    /// Incremented on every change; the API exposes it as the ETag.
    public var version: Int
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// For a recurring task: its place in the series (not on the wire).
    public var series: Series?
    /// For a recurring task: the occurrence created when this one was completed.
    public var nextOccurrenceID: TaskID?
    /// The project the task belongs to. Nil only on a task not stored yet: the store puts it in
    /// its creator's Inbox.
    public var projectID: ProjectID?
    /// The task this one is a sub-task of, in the same project.
    public var parentID: TaskID?
    /// The task's place in its project's manual order (`ManualOrder`). Nil only on a task not
    /// stored yet: the store puts it at the end of its project.
    public var position: Double?
    /// The member the task is assigned to, if any.
    public var assigneeID: UserID?
    /// Its direct sub-tasks, and how many of them are completed (progress: 2 of 5).
    public var subtaskCount: Int
    public var subtasksDone: Int

    public init(
        id: TaskID, userID: UserID, fields: TaskFields, completedAt: Timestamp?,
        version: Int, createdAt: Timestamp, updatedAt: Timestamp, series: Series? = nil, nextOccurrenceID: TaskID? = nil,
        projectID: ProjectID? = nil, parentID: TaskID? = nil, position: Double? = nil, assigneeID: UserID? = nil,
        subtaskCount: Int = 0, subtasksDone: Int = 0
    ) {
        self.id = id
        self.userID = userID
        self.fields = fields
        self.completedAt = completedAt
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.series = series
        self.nextOccurrenceID = nextOccurrenceID
        self.projectID = projectID
        self.parentID = parentID
        self.position = position
        self.assigneeID = assigneeID
        self.subtaskCount = subtaskCount
        self.subtasksDone = subtasksDone
    }

    /// The task after its writable fields were replaced at `now`. Changing the schedule
    /// (due date or recurrence) starts a new series at the new due date.
    public func replacingFields(with newFields: TaskFields, at now: Timestamp) -> TodoTask {
        var next = self
        next.fields = newFields
        if newFields.completed != fields.completed {
            next.completedAt = newFields.completed ? now : nil
        }
        if newFields.dueAt != fields.dueAt || newFields.recurrence != fields.recurrence {
            next.series = TodoTask.newSeries(for: newFields)
        }
        next.version = version + 1
        next.updatedAt = now
        return next
    }

    /// The series a task with these fields starts, if it repeats.
    public static func newSeries(for fields: TaskFields) -> Series? {
        guard fields.recurrence != nil, let dueAt = fields.dueAt else { return nil }
        return Series(start: dueAt, occurrence: 0)
    }

    enum CodingKeys: String, CodingKey {
        case id, title, description, completed, priority, tags, recurrence, version
        case dueAt = "due_at", remindAt = "remind_at", completedAt = "completed_at"
        case createdAt = "created_at", updatedAt = "updated_at"
        case projectID = "project_id", parentID = "parent_id", position, assigneeID = "assignee_id"
        case subtaskCount = "subtask_count", subtasksDone = "subtasks_done"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(id), forKey: .id)
        try container.encode(fields.title, forKey: .title)
        try container.encode(fields.description, forKey: .description)
        try container.encode(fields.completed, forKey: .completed)
        try container.encode(fields.priority, forKey: .priority)
        try container.encode(fields.tags, forKey: .tags)
        try container.encode(fields.dueAt, forKey: .dueAt)
        try container.encode(fields.remindAt, forKey: .remindAt)
        try container.encode(fields.recurrence, forKey: .recurrence)
        try container.encode(completedAt, forKey: .completedAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(projectID.map(String.init), forKey: .projectID)
        try container.encode(parentID.map(String.init), forKey: .parentID)
        try container.encode(position, forKey: .position)
        try container.encode(assigneeID, forKey: .assigneeID)
        try container.encode(subtaskCount, forKey: .subtaskCount)
        try container.encode(subtasksDone, forKey: .subtasksDone)
    }

    /// Decodes the wire format (used by clients of the API). The owner is not on the wire.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let idText = try container.decode(String.self, forKey: .id)
        guard let id = TaskID(idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: container, debugDescription: "not a task id")
        }
        self.id = id
        self.userID = ""
        self.fields = TaskFields(
            title: try container.decode(String.self, forKey: .title),
            description: try container.decode(String.self, forKey: .description),
            completed: try container.decode(Bool.self, forKey: .completed),
            priority: try container.decode(Priority.self, forKey: .priority),
            tags: try container.decode([String].self, forKey: .tags),
            dueAt: try container.decodeIfPresent(Timestamp.self, forKey: .dueAt),
            remindAt: try container.decodeIfPresent(Timestamp.self, forKey: .remindAt),
            recurrence: try container.decodeIfPresent(Recurrence.self, forKey: .recurrence))
        self.completedAt = try container.decodeIfPresent(Timestamp.self, forKey: .completedAt)
        self.version = 0
        self.createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        self.updatedAt = try container.decode(Timestamp.self, forKey: .updatedAt)
        // Absent in documents of servers before projects.
        self.projectID = try container.decodeIfPresent(String.self, forKey: .projectID).flatMap { ProjectID($0) }
        self.parentID = try container.decodeIfPresent(String.self, forKey: .parentID).flatMap { TaskID($0) }
        self.position = try container.decodeIfPresent(Double.self, forKey: .position)
        self.assigneeID = try container.decodeIfPresent(String.self, forKey: .assigneeID)
        self.subtaskCount = try container.decodeIfPresent(Int.self, forKey: .subtaskCount) ?? 0
        self.subtasksDone = try container.decodeIfPresent(Int.self, forKey: .subtasksDone) ?? 0
    }
}

/// The fields a client may write. Always valid once constructed through `validated`.
public struct TaskFields: Sendable, Equatable {
    public var title: String
    public var description: String
    public var completed: Bool
    public var priority: Priority
    public var tags: [String]
    public var dueAt: Timestamp?
    public var remindAt: Timestamp?
    public var recurrence: Recurrence?

    public init(
        title: String, description: String = "", completed: Bool = false, priority: Priority = .none,
        tags: [String] = [], dueAt: Timestamp? = nil, remindAt: Timestamp? = nil, recurrence: Recurrence? = nil
    ) {
        self.title = title
        self.description = description
        self.completed = completed
        self.priority = priority
        self.tags = tags
        self.dueAt = dueAt
        self.remindAt = remindAt
        self.recurrence = recurrence
    }
}

/// How a task repeats. The next due date is computed in `timezone` (IANA name, default UTC).
public struct Recurrence: Sendable, Equatable, Codable {
    public enum Frequency: String, Sendable, Codable, CaseIterable {
        case daily, weekly, monthly, yearly
    }

    public var frequency: Frequency
    public var interval: Int
    public var until: Timestamp?
    public var count: Int?
    public var timezone: String?

    public init(frequency: Frequency, interval: Int = 1, until: Timestamp? = nil, count: Int? = nil, timezone: String? = nil) {
        self.frequency = frequency
        self.interval = interval
        self.until = until
        self.count = count
        self.timezone = timezone
    }
}
