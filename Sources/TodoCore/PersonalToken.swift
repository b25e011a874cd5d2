/// A long-lived bearer token for scripts and MCP clients. Only its hash is stored; the token
/// itself is shown once, when it is created.
public struct PersonalToken: Sendable, Equatable, Codable {
    public var id: String
    public var userID: UserID
    public var name: String
    public var createdAt: Timestamp
    public var expiresAt: Timestamp?
    public var lastUsedAt: Timestamp?

    /// How precisely the last use is kept: recording every request of a busy script cost a
    /// write (and on SQLite an fsync) per request.
    public static let lastUseResolution = Duration.seconds(60)

    public init(id: String, userID: UserID, name: String, createdAt: Timestamp, expiresAt: Timestamp?, lastUsedAt: Timestamp?) {
        self.id = id
        self.userID = userID
        self.name = name
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
    }

    /// Every personal token starts with this, so that the server (and secret scanners) can tell
    /// it from a JWT at a glance.
    public static let prefix = "todo_pat_"
    public static let nameLength = 1...100

    public func isExpired(at now: Timestamp) -> Bool {
        expiresAt.map { $0 <= now } ?? false
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case userID = "user_id", createdAt = "created_at", expiresAt = "expires_at", lastUsedAt = "last_used_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
    }
}

/// A change to a task, as delivered on the live-event stream.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case taskCreated = "task.created"
    case taskUpdated = "task.updated"
    case taskDeleted = "task.deleted"
    case reminderDue = "reminder.due"
}

/// One entry of the event log: what happened to which task of which user.
public struct TaskEvent: Sendable, Equatable {
    public var id: Int64
    public var userID: UserID
    public var kind: EventKind
    public var taskID: TaskID
    /// The task's project (nil on events recorded before projects were shared), and for a move
    /// the project it left: every member of either hears of the change.
    public var projectID: ProjectID?
    public var movedFrom: ProjectID?

    public init(id: Int64, userID: UserID, kind: EventKind, taskID: TaskID, projectID: ProjectID? = nil, movedFrom: ProjectID? = nil) {
        self.id = id
        self.userID = userID
        self.kind = kind
        self.taskID = taskID
        self.projectID = projectID
        self.movedFrom = movedFrom
    }
}

extension TodoTask {
    /// A task about to be stored for the first time; the store assigns the id.
    public static func new(_ fields: TaskFields, userID: UserID, at now: Timestamp) -> TodoTask {
        TodoTask(id: 0, userID: userID, fields: fields, completedAt: fields.completed ? now : nil, version: 1,
                 createdAt: now, updatedAt: now, series: newSeries(for: fields))
    }
}
