import SQLiteNIO
import TodoCore

/// Web Push on SQLite. One process owns the file, so a claim needs no row locks: the writer
/// runs one statement at a time.
struct SQLitePushStore: PushStore {
    let database: SQLiteDatabase

    func saveSubscription(_ subscription: PushSubscription, limit: Int) async throws -> String? {
        let rows = try await database.write(
            """
            INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
            SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM users
            WHERE users.id = ?2 AND ((SELECT count(*) FROM push_subscriptions WHERE user_id = ?2) < ?7
                OR EXISTS (SELECT 1 FROM push_subscriptions WHERE user_id = ?2 AND endpoint = ?3))
            ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth
            RETURNING id
            """,
            [.text(subscription.id), .text(subscription.userID), .text(subscription.endpoint), .text(subscription.p256dh),
             .text(subscription.auth), SQLiteDatabase.time(subscription.createdAt), .integer(limit)])
        if let id = rows.first?.column("id")?.string { return id }
        guard try await !database.read("SELECT 1 FROM users WHERE id = ?1", [.text(subscription.userID)]).isEmpty else { return nil }
        throw QuotaReached(.pushSubscriptions, limit: limit)
    }

    func subscriptions(userID: UserID) async throws -> [PushSubscription] {
        try await database.read(
            "SELECT id, user_id, endpoint, p256dh, auth, created_at FROM push_subscriptions WHERE user_id = ?1 ORDER BY created_at, id",
            [.text(userID)]
        ).map(Self.subscription)
    }

    func deleteSubscription(id: String, userID: UserID) async throws -> Bool {
        try await !database.write("DELETE FROM push_subscriptions WHERE id = ?1 AND user_id = ?2 RETURNING id", [.text(id), .text(userID)]).isEmpty
    }

    func removeSubscription(id: String) async throws {
        _ = try await database.write("DELETE FROM push_subscriptions WHERE id = ?1", [.text(id)])
    }

    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DuePushDelivery] {
        try await database.write(
            """
            UPDATE push_deliveries SET next_attempt_at = ?2 WHERE rowid IN (
                SELECT rowid FROM push_deliveries WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, event_id LIMIT ?3)
            RETURNING subscription_id AS id, (SELECT user_id FROM push_subscriptions WHERE id = subscription_id) AS user_id,
                (SELECT endpoint FROM push_subscriptions WHERE id = subscription_id) AS endpoint,
                (SELECT p256dh FROM push_subscriptions WHERE id = subscription_id) AS p256dh,
                (SELECT auth FROM push_subscriptions WHERE id = subscription_id) AS auth,
                (SELECT created_at FROM push_subscriptions WHERE id = subscription_id) AS created_at, event_id, task_id, event_time, attempt
            """, [SQLiteDatabase.time(now), SQLiteDatabase.time(leaseEnd), .integer(limit)]
        ).map { row in
            guard let event = row.column("event_id")?.integer, let task = row.column("task_id")?.integer,
                  let time = SQLiteDatabase.time(row.column("event_time")), let attempt = row.column("attempt")?.integer
            else { throw StoreError.invalid("malformed push_deliveries row") }
            return DuePushDelivery(subscription: try Self.subscription(row), eventID: Int64(event), taskID: Int64(task), eventTime: time, attempt: attempt)
        }
    }

    func recordAttempt(subscriptionID: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws {
        try await database.recordAttempt(in: .push, target: subscriptionID, eventID: eventID, status: status, outcome: outcome)
    }

    func pruneDeliveries(before time: Timestamp) async throws {
        try await database.pruneDeliveries(in: .push, before: time)
    }

    private static func subscription(_ row: SQLiteRow) throws -> PushSubscription {
        guard let id = row.column("id")?.string, let user = row.column("user_id")?.string, let endpoint = row.column("endpoint")?.string,
              let p256dh = row.column("p256dh")?.string, let auth = row.column("auth")?.string,
              let created = SQLiteDatabase.time(row.column("created_at"))
        else { throw StoreError.invalid("malformed push_subscriptions row") }
        return PushSubscription(id: id, userID: user, endpoint: endpoint, p256dh: p256dh, auth: auth, createdAt: created)
    }
}
