import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Prometheus
import TodoCore
import TodoServer
import TodoStore

/// What follows a push attempt: a 2xx delivers; 404 and 410 say the subscription is gone (nil:
/// delete it); 429, 5xx and no answer are retried; any other status is a message the push
/// service refuses for good, so it ends there.
enum PushRetry {
    static func outcome(after delivery: DuePushDelivery, status: Int?, retryAfterSeconds: Int64?, at now: Timestamp) -> DeliveryOutcome? {
        switch status {
        case .some(200..<300): .delivered(at: now)
        case .some(404), .some(410): nil
        case nil, .some(429), .some(500...):
            Outbound.retry(attempt: delivery.attempt, eventTime: delivery.eventTime, retryAfterSeconds: retryAfterSeconds, at: now)
        default: .abandoned
        }
    }
}

/// Sends due reminders as Web Push messages (RFC 8030), encrypted for each device (RFC 8291)
/// and signed with the server's VAPID key (RFC 8292), for a `DeliveryService`.
struct PushSender: Sendable {
    let push: any PushStore
    let tasks: any TaskStore
    let key: VAPIDKey
    let policy: OutboundAddressPolicy
    let http: HTTPClient
    let logger: Logger
    /// How long the push service keeps a message for a device that is offline: a reminder a day
    /// late is no reminder.
    static let timeToLive = 86_400
    /// A notification shows a line or two; the payload must fit in one 4 KB message.
    static let titleLength = 200

    func send(_ delivery: DuePushDelivery) async {
        var status: Int?
        var retryAfter: Int64?
        var outcome: DeliveryOutcome?
        do {
            if let request = try await request(for: delivery) {
                (status, retryAfter) = try await Outbound.execute(request, on: http)
            } else {
                outcome = .abandoned  // the task is gone, and its reminder with it
            }
        } catch is WebPushEncryption.InvalidSubscriptionKeys {
            outcome = .abandoned
        } catch {
            logger.info("push not delivered", metadata: ["subscription_id": "\(delivery.subscription.id)", "error": "\(error)"])
        }
        let next = outcome ?? PushRetry.outcome(after: delivery, status: status, retryAfterSeconds: retryAfter, at: .now())
        Self.attempts(next).increment()
        do {
            if let next {
                try await push.recordAttempt(subscriptionID: delivery.subscription.id, eventID: delivery.eventID, status: status, outcome: next)
            } else {
                try await push.removeSubscription(id: delivery.subscription.id)
            }
        } catch {
            logger.warning("push attempt not recorded", metadata: ["subscription_id": "\(delivery.subscription.id)", "error": "\(error)"])
        }
    }

    /// The encrypted message, or nil when the task no longer exists.
    private func request(for delivery: DuePushDelivery) async throws -> HTTPClientRequest? {
        let subscription = delivery.subscription
        guard let task = try await tasks.task(id: delivery.taskID, userID: subscription.userID) else { return nil }
        _ = try await policy.check(subscription.endpoint)
        guard let url = URL(string: subscription.endpoint), let p256dh = Data(base64URLEncoded: subscription.p256dh),
              let auth = Data(base64URLEncoded: subscription.auth)
        else { throw WebPushEncryption.InvalidSubscriptionKeys() }
        let body = try WebPushEncryption.encrypt(Self.payload(of: delivery, task: task), p256dh: Array(p256dh), auth: Array(auth))
        var request = HTTPClientRequest(url: subscription.endpoint)
        request.method = .POST
        request.headers.add(name: "authorization", value: try key.authorization(for: url, at: .now()))
        request.headers.add(name: "content-encoding", value: "aes128gcm")
        request.headers.add(name: "content-type", value: "application/octet-stream")
        request.headers.add(name: "ttl", value: String(Self.timeToLive))
        request.headers.add(name: "urgency", value: "high")
        // A message with the topic of one still waiting at the push service replaces it (RFC 8030, 5.4): a
        // reminder sent again after a replica died mid-send reaches an offline device once.
        request.headers.add(name: "topic", value: "reminder-\(delivery.eventID)")
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// `{"type":"reminder.due","id":<event id>,"task":{id, title, due_at, remind_at}}`.
    static func payload(of delivery: DuePushDelivery, task: TodoTask) -> [UInt8] {
        var json = JSONBytes(capacity: 512)
        json.append("{\"type\":\"reminder.due\",\"id\":")
        json.appendString(String(delivery.eventID))
        json.append(",\"task\":{\"id\":")
        json.appendString(String(task.id))
        json.append(",\"title\":")
        json.appendString(String(String.UnicodeScalarView(task.fields.title.unicodeScalars.prefix(titleLength))))
        json.append(",\"due_at\":")
        json.appendTime(task.fields.dueAt)
        json.append(",\"remind_at\":")
        json.appendTime(task.fields.remindAt)
        json.append("}}")
        return json.bytes
    }

    static func attempts(_ outcome: DeliveryOutcome?) -> Counter {
        Outbound.attempts("push_attempts", help: "Web Push attempts by what followed: delivered, retry, abandoned, gone", outcome: outcome)
    }
}
