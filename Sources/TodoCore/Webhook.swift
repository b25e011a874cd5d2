/// What a webhook can be told about. A completion is also an update: a webhook that asks for
/// `task.completed` gets it as that, one that asks only for `task.updated` gets it as an update.
public enum WebhookEventType: String, Sendable, Codable, CaseIterable {
    case taskCreated = "task.created"
    case taskUpdated = "task.updated"
    case taskDeleted = "task.deleted"
    case taskCompleted = "task.completed"
    case reminderDue = "reminder.due"
}

/// A user's subscription: task events are POSTed to `url`, signed with the webhook's secret
/// (Standard Webhooks). The secret is stored, since signing needs it, and shown once.
///
/// Which tasks it hears of is decided by membership when an event is queued: with a `projectID`,
/// the tasks of that project while its owner is a member; without, the tasks of every project
/// its owner is a member of at the time.
public struct Webhook: Sendable, Equatable, Encodable {
    public var id: String
    public var userID: UserID
    public var url: String
    public var events: [WebhookEventType]
    /// The one project whose tasks it hears of; nil for all of its owner's projects.
    public var projectID: ProjectID?
    public var createdAt: Timestamp

    public init(id: String, userID: UserID, url: String, events: [WebhookEventType], projectID: ProjectID? = nil, createdAt: Timestamp) {
        self.id = id
        self.userID = userID
        self.url = url
        self.events = events
        self.projectID = projectID
        self.createdAt = createdAt
    }

    /// The secret prefix receivers' libraries expect (`whsec_` and base64 of the key).
    public static let secretPrefix = "whsec_"
    public static let urlLength = 1...2048

    enum CodingKeys: String, CodingKey {
        case id, url, events
        case userID = "user_id", projectID = "project_id", createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(url, forKey: .url)
        try container.encode(events, forKey: .events)
        try container.encode(projectID.map(String.init), forKey: .projectID)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// One event on its way to one webhook: sent until the receiver answers 2xx, or given up a day
/// after the event.
public struct WebhookDelivery: Sendable, Equatable, Encodable {
    public var eventID: Int64
    public var type: WebhookEventType
    public var attempt: Int
    /// The receiver's last HTTP status; nil before the first attempt or when it could not be reached.
    public var status: Int?
    public var deliveredAt: Timestamp?

    public init(eventID: Int64, type: WebhookEventType, attempt: Int, status: Int?, deliveredAt: Timestamp?) {
        self.eventID = eventID
        self.type = type
        self.attempt = attempt
        self.status = status
        self.deliveredAt = deliveredAt
    }

    enum CodingKeys: String, CodingKey {
        case type, attempt, status
        case eventID = "event_id", deliveredAt = "delivered_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(eventID), forKey: .eventID)
        try container.encode(type, forKey: .type)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(status, forKey: .status)
        try container.encode(deliveredAt, forKey: .deliveredAt)
    }
}

/// A delivery claimed for sending: where to, with which key, about what.
public struct DueWebhookDelivery: Sendable, Equatable {
    public var webhookID: String
    public var url: String
    public var secret: String
    public var eventID: Int64
    public var type: WebhookEventType
    public var userID: UserID
    public var taskID: TaskID
    public var eventTime: Timestamp
    /// Attempts made before this one.
    public var attempt: Int

    public init(
        webhookID: String, url: String, secret: String, eventID: Int64, type: WebhookEventType, userID: UserID, taskID: TaskID,
        eventTime: Timestamp, attempt: Int
    ) {
        self.webhookID = webhookID
        self.url = url
        self.secret = secret
        self.eventID = eventID
        self.type = type
        self.userID = userID
        self.taskID = taskID
        self.eventTime = eventTime
        self.attempt = attempt
    }
}
