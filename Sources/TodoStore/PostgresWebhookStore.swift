import PostgresNIO
import TodoCore

/// Webhooks as rows of `webhooks`; deliveries as rows of `webhook_deliveries`, which the event
/// trigger writes and every replica claims from.
struct PostgresWebhookStore: WebhookStore {
    let database: PostgresDatabase

    func createWebhook(_ webhook: Webhook, secret: String, limit: Int) async throws -> WebhookCreation {
        let events = WebhookColumns.events(webhook.events)
        let outcome = try await database.transaction { connection, logger -> Result<WebhookCreation, QuotaReached> in
            // The user's row lock serialises creations: a burst cannot pass the limit together.
            let user = try await connection.query("SELECT 1 FROM users WHERE id = \(webhook.userID) FOR NO KEY UPDATE", logger: logger)
            guard try await PostgresDatabase.hasRows(user) else { return .success(.noSuchAccount) }
            if let project = webhook.projectID {
                let member = try await connection.query(
                    "SELECT 1 FROM project_members WHERE project_id = \(project) AND user_id = \(webhook.userID)", logger: logger)
                guard try await PostgresDatabase.hasRows(member) else { return .success(.noSuchProject) }
            }
            let inserted = try await connection.query(
                """
                INSERT INTO webhooks (id, user_id, url, events, secret, created_at, project_id)
                SELECT \(webhook.id), \(webhook.userID), \(webhook.url), \(events), \(secret), \(webhook.createdAt), \(webhook.projectID)
                WHERE (SELECT count(*) FROM webhooks WHERE user_id = \(webhook.userID)) < \(limit)
                RETURNING id
                """,
                logger: logger)
            return try await PostgresDatabase.hasRows(inserted) ? .success(.created) : .failure(QuotaReached(.webhooks, limit: limit))
        }
        return try outcome?.get() ?? .noSuchAccount
    }

    func webhooks(userID: UserID) async throws -> [Webhook] {
        try await database.query(
            "SELECT id, user_id, url, events, project_id, created_at FROM webhooks WHERE user_id = \(userID) ORDER BY created_at, id"
        ) { rows in
            var webhooks: [Webhook] = []
            for try await (id, user, url, events, project, created) in rows.decode((String, String, String, String, Int64?, Timestamp).self) {
                webhooks.append(Webhook(id: id, userID: user, url: url, events: WebhookColumns.events(events), projectID: project, createdAt: created))
            }
            return webhooks
        }
    }

    func deleteWebhook(id: String, userID: UserID) async throws -> Bool {
        try await database.write("DELETE FROM webhooks WHERE id = \(id) AND user_id = \(userID) RETURNING id", PostgresDatabase.hasRows)
    }

    func deliveries(webhookID: String, userID: UserID, limit: Int) async throws -> [WebhookDelivery]? {
        let owned = try await database.query(
            "SELECT 1 FROM webhooks WHERE id = \(webhookID) AND user_id = \(userID)", PostgresDatabase.hasRows)
        guard owned else { return nil }
        return try await database.query(
            """
            SELECT event_id, type, attempt, status, delivered_at FROM webhook_deliveries
            WHERE webhook_id = \(webhookID) ORDER BY event_id DESC LIMIT \(Int64(limit))
            """
        ) { rows in
            var deliveries: [WebhookDelivery] = []
            for try await (event, type, attempt, status, delivered) in rows.decode((Int64, String, Int32, Int32?, Timestamp?).self) {
                deliveries.append(WebhookDelivery(eventID: event, type: WebhookColumns.type(type), attempt: Int(attempt),
                                                  status: status.map(Int.init), deliveredAt: delivered))
            }
            return deliveries
        }
    }

    /// SKIP LOCKED: replicas claiming at the same moment take disjoint rows instead of waiting.
    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DueWebhookDelivery] {
        try await database.write(
            """
            UPDATE webhook_deliveries d SET next_attempt_at = \(leaseEnd) FROM webhooks w
            WHERE w.id = d.webhook_id AND (d.webhook_id, d.event_id) IN (
                SELECT webhook_id, event_id FROM webhook_deliveries WHERE next_attempt_at <= \(now)
                ORDER BY next_attempt_at, event_id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING d.webhook_id, w.url, w.secret, d.event_id, d.type, w.user_id, d.task_id, d.event_time, d.attempt
            """
        ) { rows in
            var due: [DueWebhookDelivery] = []
            let columns = (String, String, String, Int64, String, String, Int64, Timestamp, Int32).self
            for try await (webhook, url, secret, event, type, user, task, time, attempt) in rows.decode(columns) {
                due.append(DueWebhookDelivery(webhookID: webhook, url: url, secret: secret, eventID: event, type: WebhookColumns.type(type),
                                              userID: user, taskID: task, eventTime: time, attempt: Int(attempt)))
            }
            return due
        }
    }

    func recordAttempt(webhookID: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws {
        try await database.recordAttempt(in: .webhooks, target: webhookID, eventID: eventID, status: status, outcome: outcome)
    }

    func pruneDeliveries(before time: Timestamp) async throws {
        try await database.pruneDeliveries(in: .webhooks, before: time)
    }
}

/// How webhook values are kept in columns, the same on both databases.
enum WebhookColumns {
    /// Comma-separated, as the queueing triggers match them (`,task.created,`).
    static func events(_ events: [WebhookEventType]) -> String {
        events.map(\.rawValue).joined(separator: ",")
    }

    static func events(_ column: String) -> [WebhookEventType] {
        column.split(separator: ",").compactMap { WebhookEventType(rawValue: String($0)) }
    }

    /// Types are written by our own triggers; an unknown one can only come from a newer build.
    static func type(_ column: String) -> WebhookEventType {
        WebhookEventType(rawValue: column) ?? .taskUpdated
    }
}
