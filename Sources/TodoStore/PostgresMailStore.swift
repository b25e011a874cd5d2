import PostgresNIO
import TodoCore

/// Settings as rows of `mail_preferences`; mails as rows of `mail_deliveries`, which the event
/// trigger and `queueDueDigests` write and every replica claims from.
struct PostgresMailStore: MailStore {
    let database: PostgresDatabase

    func notificationSettings(userID: UserID) async throws -> NotificationSettings {
        try await database.query(
            "SELECT email_reminders, daily_digest, digest_time, time_zone FROM mail_preferences WHERE user_id = \(userID)"
        ) { rows in
            var settings = NotificationSettings()
            for try await (reminders, digest, time, zone) in rows.decode((Bool, Bool, String, String).self) {
                settings = NotificationSettings(
                    emailReminders: reminders, dailyDigest: digest, digestTime: DigestTime(time) ?? settings.digestTime, timeZone: zone)
            }
            return settings
        }
    }

    func saveNotificationSettings(_ settings: NotificationSettings, userID: UserID, at now: Timestamp) async throws -> Bool {
        let next = settings.nextDigest(after: now)
        return try await database.write(
            """
            INSERT INTO mail_preferences (user_id, email_reminders, daily_digest, digest_time, time_zone, next_digest_at)
            SELECT id, \(settings.emailReminders), \(settings.dailyDigest), \(settings.digestTime.description), \(settings.timeZone), \(next)
            FROM users WHERE id = \(userID)
            ON CONFLICT (user_id) DO UPDATE SET email_reminders = EXCLUDED.email_reminders, daily_digest = EXCLUDED.daily_digest,
                digest_time = EXCLUDED.digest_time, time_zone = EXCLUDED.time_zone, next_digest_at = EXCLUDED.next_digest_at
            RETURNING user_id
            """,
            PostgresDatabase.hasRows)
    }

    /// SKIP LOCKED: a replica passes over the users another is queueing digests for.
    func queueDueDigests(at now: Timestamp, limit: Int) async throws -> Int {
        try await database.transaction { connection, logger in
            let rows = try await connection.query(
                """
                SELECT user_id, digest_time, time_zone, next_digest_at FROM mail_preferences WHERE next_digest_at <= \(now)
                ORDER BY next_digest_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED
                """,
                logger: logger)
            var due: [(String, String, String, Timestamp)] = []
            for try await row in rows.decode((String, String, String, Timestamp).self) { due.append(row) }
            for (user, time, zone, scheduled) in due {
                let step = DigestStep(digestTime: time, timeZone: zone, scheduled: scheduled, now: now)
                _ = try await PostgresDatabase.hasRows(try await connection.query(
                    """
                    INSERT INTO mail_deliveries (user_id, delivery_key, event_time, next_attempt_at) VALUES (\(user), \(step.key), \(now), \(now))
                    ON CONFLICT DO NOTHING
                    """,
                    logger: logger))
                _ = try await PostgresDatabase.hasRows(try await connection.query(
                    "UPDATE mail_preferences SET next_digest_at = \(step.next) WHERE user_id = \(user)", logger: logger))
            }
            return due.count
        } ?? 0
    }

    /// SKIP LOCKED: replicas claiming at the same moment take disjoint rows instead of waiting.
    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DueMail] {
        try await database.write(
            """
            UPDATE mail_deliveries d SET next_attempt_at = \(leaseEnd) FROM users u JOIN mail_preferences p ON p.user_id = u.id
            WHERE u.id = d.user_id AND (d.user_id, d.delivery_key) IN (
                SELECT user_id, delivery_key FROM mail_deliveries WHERE next_attempt_at <= \(now)
                ORDER BY next_attempt_at, delivery_key LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING d.user_id, u.email, d.delivery_key, d.task_id, d.event_time, d.attempt, p.email_reminders, p.daily_digest,
                p.digest_time, p.time_zone
            """
        ) { rows in
            var due: [DueMail] = []
            let columns = (String, String, String, Int64?, Timestamp, Int32, Bool, Bool, String, String).self
            for try await (user, email, key, task, time, attempt, reminders, digest, digestTime, zone) in rows.decode(columns) {
                guard let content = DueMail.content(key: key, taskID: task) else { continue }
                let settings = NotificationSettings(
                    emailReminders: reminders, dailyDigest: digest, digestTime: DigestTime(digestTime) ?? NotificationSettings().digestTime, timeZone: zone)
                due.append(DueMail(userID: user, email: email, key: key, content: content, settings: settings, eventTime: time, attempt: Int(attempt)))
            }
            return due
        }
    }

    func recordAttempt(userID: UserID, key: String, status: Int?, outcome: DeliveryOutcome) async throws {
        try await database.recordAttempt(in: .mail, target: userID, key: key, status: status, outcome: outcome)
    }

    func pruneDeliveries(before time: Timestamp) async throws {
        try await database.pruneDeliveries(in: .mail, before: time)
    }
}
