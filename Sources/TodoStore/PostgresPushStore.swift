import PostgresNIO
import TodoCore

/// Subscriptions as rows of `push_subscriptions`; deliveries as rows of `push_deliveries`, which
/// the event trigger writes and every replica claims from.
struct PostgresPushStore: PushStore {
    let database: PostgresDatabase

    func saveSubscription(_ subscription: PushSubscription, limit: Int) async throws -> String? {
        let (id, user, endpoint) = (subscription.id, subscription.userID, subscription.endpoint)
        let outcome = try await database.transaction { connection, logger -> Result<String?, QuotaReached> in
            // The user's row lock serialises saves: a burst cannot pass the limit together.
            let owner = try await connection.query("SELECT 1 FROM users WHERE id = \(user) FOR NO KEY UPDATE", logger: logger)
            guard try await PostgresDatabase.hasRows(owner) else { return .success(nil) }
            let saved = try await connection.query(
                """
                INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
                SELECT \(id), \(user), \(endpoint), \(subscription.p256dh), \(subscription.auth), \(subscription.createdAt)
                WHERE (SELECT count(*) FROM push_subscriptions WHERE user_id = \(user)) < \(limit)
                    OR EXISTS (SELECT 1 FROM push_subscriptions WHERE user_id = \(user) AND endpoint = \(endpoint))
                ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
                RETURNING id
                """,
                logger: logger)
            var savedID: String?
            for try await row in saved.decode(String.self) { savedID = row }  // every row read: the statement completes
            return savedID.map { .success($0) } ?? .failure(QuotaReached(.pushSubscriptions, limit: limit))
        }
        return try outcome?.get() ?? nil
    }

    func subscriptions(userID: UserID) async throws -> [PushSubscription] {
        try await database.query(
            "SELECT id, user_id, endpoint, p256dh, auth, created_at FROM push_subscriptions WHERE user_id = \(userID) ORDER BY created_at, id"
        ) { rows in
            var subscriptions: [PushSubscription] = []
            for try await (id, user, endpoint, p256dh, auth, created) in rows.decode((String, String, String, String, String, Timestamp).self) {
                subscriptions.append(PushSubscription(id: id, userID: user, endpoint: endpoint, p256dh: p256dh, auth: auth, createdAt: created))
            }
            return subscriptions
        }
    }

    func deleteSubscription(id: String, userID: UserID) async throws -> Bool {
        try await database.write("DELETE FROM push_subscriptions WHERE id = \(id) AND user_id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func removeSubscription(id: String) async throws {
        _ = try await database.write("DELETE FROM push_subscriptions WHERE id = \(id) RETURNING id", PostgresDatabase.hasRows)
    }

    /// SKIP LOCKED: replicas claiming at the same moment take disjoint rows instead of waiting.
    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DuePushDelivery] {
        try await database.write(
            """
            UPDATE push_deliveries d SET next_attempt_at = \(leaseEnd) FROM push_subscriptions s
            WHERE s.id = d.subscription_id AND (d.subscription_id, d.event_id) IN (
                SELECT subscription_id, event_id FROM push_deliveries WHERE next_attempt_at <= \(now)
                ORDER BY next_attempt_at, event_id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING s.id, s.user_id, s.endpoint, s.p256dh, s.auth, s.created_at, d.event_id, d.task_id, d.event_time, d.attempt
            """
        ) { rows in
            var due: [DuePushDelivery] = []
            let columns = (String, String, String, String, String, Timestamp, Int64, Int64, Timestamp, Int32).self
            for try await (id, user, endpoint, p256dh, auth, created, event, task, time, attempt) in rows.decode(columns) {
                let subscription = PushSubscription(id: id, userID: user, endpoint: endpoint, p256dh: p256dh, auth: auth, createdAt: created)
                due.append(DuePushDelivery(subscription: subscription, eventID: event, taskID: task, eventTime: time, attempt: Int(attempt)))
            }
            return due
        }
    }

    func recordAttempt(subscriptionID: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws {
        try await database.recordAttempt(in: .push, target: subscriptionID, eventID: eventID, status: status, outcome: outcome)
    }

    func pruneDeliveries(before time: Timestamp) async throws {
        try await database.pruneDeliveries(in: .push, before: time)
    }
}
