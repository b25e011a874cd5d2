import TodoCore

/// E-mail notifications: each user's settings, and the mails queued for them. Reminder mails are
/// queued by the database itself, in the transaction that claims a due reminder (migration 16);
/// digests by `queueDueDigests`. Both are handed out and recorded like the other outboxes.
public protocol MailStore: Sendable {
    /// The user's settings; the defaults (everything off) when they never saved any.
    func notificationSettings(userID: UserID) async throws -> NotificationSettings
    /// Saves the settings and schedules the next digest after `now` (none when the digest is off);
    /// false when the account does not exist.
    func saveNotificationSettings(_ settings: NotificationSettings, userID: UserID, at now: Timestamp) async throws -> Bool
    /// Takes up to `limit` users whose digest is due at `now` and, in the same transaction, queues
    /// a digest keyed by the user and the local date it was due on, and moves their next digest
    /// to the next local day. Replicas skip each other's users (PostgreSQL: SKIP LOCKED), and the
    /// key makes one digest per user and day whatever happens. Answers how many it took.
    func queueDueDigests(at now: Timestamp, limit: Int) async throws -> Int
    /// Claims up to `limit` mails due at `now`, oldest first, until `leaseEnd` (as push).
    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DueMail]
    /// Records an attempt: the SMTP reply code when there was one, and what next.
    func recordAttempt(userID: UserID, key: String, status: Int?, outcome: DeliveryOutcome) async throws
    /// Deletes finished mails (delivered or given up) queued before `time`.
    func pruneDeliveries(before time: Timestamp) async throws
}

/// A mail claimed for sending: a due reminder or a day's digest, with what the mail needs of its
/// user (address, settings as they are now).
public struct DueMail: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case reminder(eventID: Int64, taskID: TaskID)
        /// The digest of a local date, `yyyy-MM-dd`.
        case digest(date: String)
    }

    public var userID: UserID
    public var email: String
    /// `reminder-<event id>` or `digest-<local date>`: unique per user, and the mail's Message-ID.
    public var key: String
    public var content: Content
    public var settings: NotificationSettings
    public var eventTime: Timestamp
    /// Attempts made before this one.
    public var attempt: Int

    public init(userID: UserID, email: String, key: String, content: Content, settings: NotificationSettings, eventTime: Timestamp, attempt: Int) {
        self.userID = userID
        self.email = email
        self.key = key
        self.content = content
        self.settings = settings
        self.eventTime = eventTime
        self.attempt = attempt
    }

    static func content(key: String, taskID: TaskID?) -> Content? {
        if key.hasPrefix("digest-") { return .digest(date: String(key.dropFirst("digest-".count))) }
        guard key.hasPrefix("reminder-"), let event = Int64(key.dropFirst("reminder-".count)), let taskID else { return nil }
        return .reminder(eventID: event, taskID: taskID)
    }
}

/// The digest due for one user: the key of its row and when the next one is due.
struct DigestStep {
    var key: String
    var next: Timestamp

    /// `scheduled` is when the digest was due; the next is the first occurrence after both it and `now`
    /// (a service down for days sends one digest when it is back, not one per day missed).
    init(digestTime: String, timeZone: String, scheduled: Timestamp, now: Timestamp) {
        let settings = NotificationSettings(dailyDigest: true, digestTime: DigestTime(digestTime) ?? NotificationSettings().digestTime, timeZone: timeZone)
        key = "digest-" + DigestSchedule.localDate(of: scheduled, in: settings.zone)
        next = settings.nextDigest(after: max(now, scheduled)) ?? now.adding(milliseconds: 86_400_000)
    }
}
