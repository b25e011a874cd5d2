import TodoCore

/// Web Push subscriptions and their deliveries. Deliveries are queued by the database itself,
/// in the transaction that claims a due reminder (migration 14), so this store only hands them
/// out and records how each attempt went.
public protocol PushStore: Sendable {
    /// Stores `subscription` and returns its id; when the user already has one with the same
    /// endpoint, that one takes the new keys and its id is returned. Nil when the account does not
    /// exist; throws `QuotaReached` when a new one would pass `limit`.
    func saveSubscription(_ subscription: PushSubscription, limit: Int) async throws -> String?
    func subscriptions(userID: UserID) async throws -> [PushSubscription]
    /// Deletes the subscription and its pending deliveries; false when `userID` has no such one.
    func deleteSubscription(id: String, userID: UserID) async throws -> Bool
    /// Deletes a subscription its push service no longer knows (404 or 410), whoever owns it.
    func removeSubscription(id: String) async throws
    /// Claims up to `limit` deliveries due at `now`, oldest first, until `leaseEnd` (as webhooks).
    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DuePushDelivery]
    /// Records an attempt: the push service's HTTP status (nil when not reached) and what next.
    func recordAttempt(subscriptionID: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws
    /// Deletes finished deliveries (delivered or given up) of events before `time`.
    func pruneDeliveries(before time: Timestamp) async throws
}
