import SQLiteNIO
import TodoCore

/// E-mail notifications on SQLite. One process owns the file, so claims need no row locks: the
/// writer runs one transaction at a time.
struct SQLiteMailStore: MailStore {
    let database: SQLiteDatabase

    func notificationSettings(userID: UserID) async throws -> NotificationSettings {
        let rows = try await database.read(
            "SELECT email_reminders, daily_digest, digest_time, time_zone FROM mail_preferences WHERE user_id = ?1", [.text(userID)])
        guard let row = rows.first else { return NotificationSettings() }
        return try Self.settings(row)
    }

    func saveNotificationSettings(_ settings: NotificationSettings, userID: UserID, at now: Timestamp) async throws -> Bool {
        try await !database.write(
            """
            INSERT INTO mail_preferences (user_id, email_reminders, daily_digest, digest_time, time_zone, next_digest_at)
            SELECT id, ?2, ?3, ?4, ?5, ?6 FROM users WHERE id = ?1
            ON CONFLICT (user_id) DO UPDATE SET email_reminders = excluded.email_reminders, daily_digest = excluded.daily_digest,
                digest_time = excluded.digest_time, time_zone = excluded.time_zone, next_digest_at = excluded.next_digest_at
            RETURNING user_id
            """,
            [.text(userID), .integer(settings.emailReminders ? 1 : 0), .integer(settings.dailyDigest ? 1 : 0), .text(settings.digestTime.description),
             .text(settings.timeZone), SQLiteDatabase.time(settings.nextDigest(after: now))]
        ).isEmpty
    }

    func queueDueDigests(at now: Timestamp, limit: Int) async throws -> Int {
        try await database.transaction { connection in
            let due = try await connection.query(
                """
                SELECT user_id, digest_time, time_zone, next_digest_at FROM mail_preferences WHERE next_digest_at <= ?1
                ORDER BY next_digest_at LIMIT ?2
                """,
                [SQLiteDatabase.time(now), .integer(limit)])
            for row in due {
                guard let user = row.column("user_id")?.string, let time = row.column("digest_time")?.string,
                      let zone = row.column("time_zone")?.string, let scheduled = SQLiteDatabase.time(row.column("next_digest_at"))
                else { throw StoreError.invalid("malformed mail_preferences row") }
                let step = DigestStep(digestTime: time, timeZone: zone, scheduled: scheduled, now: now)
                _ = try await connection.query(
                    "INSERT INTO mail_deliveries (user_id, delivery_key, event_time, next_attempt_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT DO NOTHING",
                    [.text(user), .text(step.key), SQLiteDatabase.time(now)])
                _ = try await connection.query(
                    "UPDATE mail_preferences SET next_digest_at = ?2 WHERE user_id = ?1", [.text(user), SQLiteDatabase.time(step.next)])
            }
            return due.count
        } ?? 0
    }

    func claimDeliveries(at now: Timestamp, leaseEnd: Timestamp, limit: Int) async throws -> [DueMail] {
        try await database.write(
            """
            UPDATE mail_deliveries SET next_attempt_at = ?2 WHERE rowid IN (
                SELECT rowid FROM mail_deliveries WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, delivery_key LIMIT ?3)
            RETURNING user_id, delivery_key, task_id, event_time, attempt, (SELECT email FROM users WHERE id = user_id) AS email,
                (SELECT email_reminders FROM mail_preferences p WHERE p.user_id = mail_deliveries.user_id) AS email_reminders,
                (SELECT daily_digest FROM mail_preferences p WHERE p.user_id = mail_deliveries.user_id) AS daily_digest,
                (SELECT digest_time FROM mail_preferences p WHERE p.user_id = mail_deliveries.user_id) AS digest_time,
                (SELECT time_zone FROM mail_preferences p WHERE p.user_id = mail_deliveries.user_id) AS time_zone
            """, [SQLiteDatabase.time(now), SQLiteDatabase.time(leaseEnd), .integer(limit)]
        ).compactMap { row in
            guard let user = row.column("user_id")?.string, let key = row.column("delivery_key")?.string,
                  let email = row.column("email")?.string, let time = SQLiteDatabase.time(row.column("event_time")),
                  let attempt = row.column("attempt")?.integer
            else { throw StoreError.invalid("malformed mail_deliveries row") }
            guard let content = DueMail.content(key: key, taskID: row.column("task_id")?.integer.map(Int64.init)) else { return nil }
            let settings = (try? Self.settings(row)) ?? NotificationSettings()
            return DueMail(userID: user, email: email, key: key, content: content, settings: settings, eventTime: time, attempt: attempt)
        }
    }

    func recordAttempt(userID: UserID, key: String, status: Int?, outcome: DeliveryOutcome) async throws {
        try await database.recordAttempt(in: .mail, target: userID, key: .text(key), status: status, outcome: outcome)
    }

    func pruneDeliveries(before time: Timestamp) async throws {
        try await database.pruneDeliveries(in: .mail, before: time)
    }

    private static func settings(_ row: SQLiteRow) throws -> NotificationSettings {
        guard let reminders = row.column("email_reminders")?.integer, let digest = row.column("daily_digest")?.integer,
              let time = row.column("digest_time")?.string, let zone = row.column("time_zone")?.string
        else { throw StoreError.invalid("malformed mail_preferences row") }
        return NotificationSettings(
            emailReminders: reminders != 0, dailyDigest: digest != 0, digestTime: DigestTime(time) ?? NotificationSettings().digestTime, timeZone: zone)
    }
}
