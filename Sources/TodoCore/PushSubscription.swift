/// A browser's Web Push subscription (the `PushSubscription` a service worker gets from
/// `pushManager.subscribe`): the push service URL to POST to, and the keys that encrypt for
/// that browser alone (RFC 8291). One per device; a user has as many as devices they enabled.
public struct PushSubscription: Sendable, Equatable {
    public var id: String
    public var userID: UserID
    public var endpoint: String
    /// The browser's P-256 public key, an uncompressed point in unpadded base64url.
    public var p256dh: String
    /// The browser's 16-byte authentication secret in unpadded base64url.
    public var auth: String
    public var createdAt: Timestamp

    public init(id: String, userID: UserID, endpoint: String, p256dh: String, auth: String, createdAt: Timestamp) {
        self.id = id
        self.userID = userID
        self.endpoint = endpoint
        self.p256dh = p256dh
        self.auth = auth
        self.createdAt = createdAt
    }

    public static let endpointLength = 1...2048
}

/// A reminder claimed for sending to one subscription.
public struct DuePushDelivery: Sendable, Equatable {
    public var subscription: PushSubscription
    public var eventID: Int64
    public var taskID: TaskID
    public var eventTime: Timestamp
    /// Attempts made before this one.
    public var attempt: Int

    public init(subscription: PushSubscription, eventID: Int64, taskID: TaskID, eventTime: Timestamp, attempt: Int) {
        self.subscription = subscription
        self.eventID = eventID
        self.taskID = taskID
        self.eventTime = eventTime
        self.attempt = attempt
    }
}
