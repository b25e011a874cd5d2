import TodoCore

/// Webhooks and their deliveries. Deliveries are queued by the database itself, in the
/// transaction that logs the event (migrations 13 and 18), one per webhook whose owner is a
/// member of the task's project at that moment (and, for a project's webhook, of that project),
/// so this store only hands them out and records how each attempt went.
public protocol WebhookStore: Sendable {
    /// Stores a webhook with its signing secret, unless the account does not exist or is not a
    /// member of the webhook's project. Throws `QuotaReached` when the account already has
    /// `limit` webhooks.
    func createWebhook(_ webhook: Webhook, secret: String, limit: Int) async throws -> WebhookCreation
    func webhooks(userID: UserID) async throws -> [Webhook]
    /// Deletes the webhook and its pending deliveries; false when `userID` has no such webhook.
    func deleteWebhook(id: String, userID: UserID) async throws -> Bool
    /// The webhook's latest `limit` deliveries, newest event first; nil when `userID` has no such webhook.
    func deliveries(webhookID: String, userID: UserID, limit: Int) async throws -> [WebhookDelivery]?
    /// Claims up to `limit` deliveries due at `now`, oldest first. A claimed delivery is not due
    /// again until `leaseEnd`: if its sender dies, another process sends it after that.
    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DueWebhookDelivery]
    /// Records an attempt: its HTTP status (nil when the receiver was not reached) and what next.
    func recordAttempt(webhookID: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws
    /// Deletes finished deliveries (delivered or given up) of events before `time`.
    func pruneDeliveries(before time: Timestamp) async throws
}

/// What became of a new webhook.
public enum WebhookCreation: Sendable, Equatable {
    case created
    case noSuchAccount
    /// Its project does not exist or its owner is not a member.
    case noSuchProject
}
