import PostgresNIO
import SQLiteNIO
import TodoCore

/// What follows an attempt to deliver from an outbox (webhooks, Web Push).
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(at: Timestamp)
    case retry(at: Timestamp)
    case abandoned

    /// `next_attempt_at` and `delivered_at` after the attempt, the same columns in every
    /// delivery table: a null `next_attempt_at` means finished.
    var columns: (next: Timestamp?, delivered: Timestamp?) {
        switch self {
        case .delivered(let time): (nil, time)
        case .retry(let time): (time, nil)
        case .abandoned: (nil, nil)
        }
    }
}

/// A table of queued deliveries (`webhook_deliveries`, `push_deliveries`, `mail_deliveries`):
/// where each goes (`target`), what it delivers (`key`: `event_id`, or the mail's
/// `delivery_key`), `event_time`, `attempt`, `status`, `next_attempt_at`, `delivered_at`.
/// Attempts are recorded and finished ones pruned the same way in each.
struct DeliveryTable: Sendable {
    let name: String
    let target: String
    var key = "event_id"

    static let webhooks = DeliveryTable(name: "webhook_deliveries", target: "webhook_id")
    static let push = DeliveryTable(name: "push_deliveries", target: "subscription_id")
    static let mail = DeliveryTable(name: "mail_deliveries", target: "user_id", key: "delivery_key")
}

extension PostgresDatabase {
    func recordAttempt(in table: DeliveryTable, target: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws {
        try await recordAttempt(in: table, target: target, key: eventID, status: status, outcome: outcome)
    }

    func recordAttempt(
        in table: DeliveryTable, target: String, key: some PostgresNonThrowingEncodable & Sendable, status: Int?, outcome: DeliveryOutcome
    ) async throws {
        let status = status.map(Int32.init)
        let (next, delivered) = outcome.columns
        _ = try await write(
            """
            UPDATE \(unescaped: table.name) SET attempt = attempt + 1, status = \(status), next_attempt_at = \(next),
                delivered_at = \(delivered) WHERE \(unescaped: table.target) = \(target) AND \(unescaped: table.key) = \(key)
            """,
            PostgresDatabase.hasRows)
    }

    /// Deletes finished deliveries (delivered or given up) of events before `time`.
    func pruneDeliveries(in table: DeliveryTable, before time: Timestamp) async throws {
        _ = try await write(
            "DELETE FROM \(unescaped: table.name) WHERE next_attempt_at IS NULL AND event_time < \(time)", PostgresDatabase.hasRows)
    }
}

extension SQLiteDatabase {
    func recordAttempt(in table: DeliveryTable, target: String, eventID: Int64, status: Int?, outcome: DeliveryOutcome) async throws {
        try await recordAttempt(in: table, target: target, key: .integer(Int(eventID)), status: status, outcome: outcome)
    }

    func recordAttempt(in table: DeliveryTable, target: String, key: SQLiteData, status: Int?, outcome: DeliveryOutcome) async throws {
        let (next, delivered) = outcome.columns
        _ = try await write(
            """
            UPDATE \(table.name) SET attempt = attempt + 1, status = ?3, next_attempt_at = ?4, delivered_at = ?5
            WHERE \(table.target) = ?1 AND \(table.key) = ?2
            """,
            [.text(target), key, status.map(SQLiteData.integer) ?? .null, SQLiteDatabase.time(next), SQLiteDatabase.time(delivered)])
    }

    func pruneDeliveries(in table: DeliveryTable, before time: Timestamp) async throws {
        _ = try await write("DELETE FROM \(table.name) WHERE next_attempt_at IS NULL AND event_time < ?1", [SQLiteDatabase.time(time)])
    }
}
