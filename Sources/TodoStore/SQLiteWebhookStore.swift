import SQLiteNIO
import TodoCore

/// Webhooks on SQLite. One process owns the file, so a claim needs no row locks: the writer
/// runs one statement at a time.
struct SQLiteWebhookStore: WebhookStore {
    let database: SQLiteDatabase

    func createWebhook(_ webhook: Webhook, secret: String, limit: Int) async throws -> WebhookCreation {
        let project: SQLiteData = webhook.projectID.map { .integer(Int($0)) } ?? .null
        let rows = try await database.write(
            """
            INSERT INTO webhooks (id, user_id, url, events, secret, created_at, project_id)
            SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?8 FROM users
            WHERE users.id = ?2 AND (SELECT count(*) FROM webhooks WHERE user_id = ?2) < ?7
                AND (?8 IS NULL OR EXISTS (SELECT 1 FROM project_members WHERE project_id = ?8 AND user_id = ?2))
            RETURNING id
            """,
            [.text(webhook.id), .text(webhook.userID), .text(webhook.url), .text(WebhookColumns.events(webhook.events)), .text(secret),
             SQLiteDatabase.time(webhook.createdAt), .integer(limit), project])
        guard rows.isEmpty else { return .created }
        // Why nothing was stored, asked only then.
        guard try await !database.read("SELECT 1 FROM users WHERE id = ?1", [.text(webhook.userID)]).isEmpty else { return .noSuchAccount }
        if let projectID = webhook.projectID,
           try await database.read("SELECT 1 FROM project_members WHERE project_id = ?1 AND user_id = ?2", [.integer(Int(projectID)), .text(webhook.userID)])
               .isEmpty {
            return .noSuchProject
        }
        throw QuotaReached(.webhooks, limit: limit)
    }

    func webhooks(userID: UserID) async throws -> [Webhook] {
        try await database.read(
            "SELECT id, user_id, url, events, project_id, created_at FROM webhooks WHERE user_id = ?1 ORDER BY created_at, id", [.text(userID)]
        ).map { row in
            guard let id = row.column("id")?.string, let user = row.column("user_id")?.string, let url = row.column("url")?.string,
                  let events = row.column("events")?.string, let created = SQLiteDatabase.time(row.column("created_at"))
            else { throw StoreError.invalid("malformed webhooks row") }
            return Webhook(id: id, userID: user, url: url, events: WebhookColumns.events(events),
                           projectID: row.column("project_id")?.integer.map(ProjectID.init), createdAt: created)
        }
    }

    func deleteWebhook(id: String, userID: UserID) async throws -> Bool {
        try await !database.write("DELETE FROM webhooks WHERE id = ?1 AND user_id = ?2 RETURNING id", [.text(id), .text(userID)]).isEmpty
    }

    func deliveries(webhookID: String, userID: UserID, limit: Int) async throws -> [WebhookDelivery]? {
        guard try await !database.read("SELECT 1 FROM webhooks WHERE id = ?1 AND user_id = ?2", [.text(webhookID), .text(userID)]).isEmpty
        else { return nil }
        return try await database.read(
            """
            SELECT event_id, type, attempt, status, delivered_at FROM webhook_deliveries
            WHERE webhook_id = ?1 ORDER BY event_id DESC LIMIT ?2
            """, [.text(webhookID), .integer(limit)]
        ).map { row in
            guard let event = row.column("event_id")?.integer, let type = row.column("type")?.string,
                  let attempt = row.column("attempt")?.integer
            else { throw StoreError.invalid("malformed webhook_deliveries row") }
            return WebhookDelivery(eventID: Int64(event), type: WebhookColumns.type(type), attempt: attempt,
                                   status: row.column("status")?.integer, deliveredAt: SQLiteDatabase.time(row.column("delivered_at")))
        }
    }

    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DueWebhookDelivery] {
        try await database.write(
            """
            UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE rowid IN (
                SELECT rowid FROM webhook_deliveries WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, event_id LIMIT ?3)
            RETURNING webhook_id, (SELECT url FROM webhooks WHERE id = webhook_id) AS url,
                (SELECT secret FROM webhooks WHERE id = webhook_id) AS secret,
                (SELECT user_id FROM webhooks WHERE id = webhook_id) AS user_id, event_id, type, task_id, event_time, attempt
            """, [SQLiteDatabase.time(now), SQLiteDatabase.time(leaseEnd), .integer(limit)]
        ).map { row in
            guard let webhook = row.column("webhook_id")?.string, let url = row.column("url")?.string,
                  let secret = row.column("secret")?.string, let user = row.column("user_id")?.string,
                  let event = row.column("event_id")?.integer, let type = row.column("type")?.string,
                  let task = row.column("task_id")?.integer, let time = SQLiteDatabase.time(row.column("event_time")),
                  let attempt = row.column("attempt")?.integer
            else { throw StoreError.invalid("malformed webhook_deliveries row") }
            return DueWebhookDelivery(webhookID: webhook, url: url, secret: secret, eventID: Int64(event), type: WebhookColumns.type(type),
                                      userID: user, taskID: Int64(task), eventTime: time, attempt: attempt)
        }
    }

    func recordAttempt(webhookID: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws {
        try await database.recordAttempt(in: .webhooks, target: webhookID, eventID: eventID, status: status, outcome: outcome)
    }

    func pruneDeliveries(before time: Timestamp) async throws {
        try await database.pruneDeliveries(in: .webhooks, before: time)
    }
}
