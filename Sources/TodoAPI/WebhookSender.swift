import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import TodoCore
import TodoServer
import TodoStore

/// Signs deliveries as the Standard Webhooks specification says, so that receivers verify
/// them with its published libraries: `webhook-signature: v1,<base64 HMAC-SHA256>` of
/// `<id>.<timestamp>.<body>`, keyed by the bytes behind the `whsec_` secret.
public enum WebhookSignature {
    /// A new secret: `whsec_` and 24 random bytes in base64.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Webhook.secretPrefix + Data(key).base64EncodedString()
    }

    public static func sign(id: String, timestamp: Int64, body: [UInt8], secret: String) -> String {
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst(Webhook.secretPrefix.count))) ?? Data())
        var message = Array("\(id).\(timestamp).".utf8)
        message.append(contentsOf: body)
        return "v1," + Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).base64EncodedString()
    }
}

/// What follows a webhook attempt: a 2xx delivers, 410 (Gone) ends it, anything else is retried.
enum WebhookRetry {
    static func outcome(after delivery: DueWebhookDelivery, status: Int?, retryAfterSeconds: Int64?, at now: Timestamp) -> DeliveryOutcome {
        if let status, (200..<300).contains(status) { return .delivered(at: now) }
        if status == 410 { return .abandoned }  // Gone: the receiver says it will never take it.
        return Outbound.retry(attempt: delivery.attempt, eventTime: delivery.eventTime, retryAfterSeconds: retryAfterSeconds, at: now)
    }
}

/// Sends webhook deliveries for a `DeliveryService`.
struct WebhookSender: Sendable {
    let webhooks: any WebhookStore
    let tasks: any TaskStore
    let policy: OutboundAddressPolicy
    let http: HTTPClient
    let logger: Logger

    func send(_ delivery: DueWebhookDelivery) async {
        var status: Int?
        var retryAfter: Int64?
        do {
            _ = try await policy.check(delivery.url)
            (status, retryAfter) = try await Outbound.execute(try await request(for: delivery), on: http)
        } catch {
            logger.info("webhook not delivered", metadata: ["webhook_id": "\(delivery.webhookID)", "error": "\(error)"])
        }
        let outcome = WebhookRetry.outcome(after: delivery, status: status, retryAfterSeconds: retryAfter, at: .now())
        Self.attempts(outcome).increment()
        do {
            try await webhooks.recordAttempt(webhookID: delivery.webhookID, eventID: delivery.eventID, status: status, outcome: outcome)
        } catch {
            logger.warning("webhook attempt not recorded", metadata: ["webhook_id": "\(delivery.webhookID)", "error": "\(error)"])
        }
    }

    private func request(for delivery: DueWebhookDelivery) async throws -> HTTPClientRequest {
        let body = try await payload(of: delivery)
        let id = String(delivery.eventID)
        let timestamp = Timestamp.now().millisecondsSinceEpoch / 1000
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "todo-webhooks")
        request.headers.add(name: "webhook-id", value: id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: WebhookSignature.sign(id: id, timestamp: timestamp, body: body, secret: delivery.secret))
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// `{id, type, created_at, data}`: data is the task as it is when sent, or `{id}` once it
    /// is deleted.
    private func payload(of delivery: DueWebhookDelivery) async throws -> [UInt8] {
        let task = delivery.type == .taskDeleted ? nil : try await tasks.task(id: delivery.taskID, userID: delivery.userID)
        var json = JSONBytes(capacity: 512)
        json.append("{\"id\":")
        json.appendString(String(delivery.eventID))
        json.append(",\"type\":")
        json.appendString(delivery.type.rawValue)
        json.append(",\"created_at\":")
        json.appendTime(delivery.eventTime)
        json.append(",\"data\":")
        if let task {
            json.append(task)
        } else {
            json.append("{\"id\":")
            json.appendString(String(delivery.taskID))
            json.append("}")
        }
        json.append("}")
        return json.bytes
    }

    static func attempts(_ outcome: DeliveryOutcome) -> Counter {
        Outbound.attempts("webhook_attempts", help: "Webhook delivery attempts by what followed: delivered, retry, abandoned", outcome: outcome)
    }
}
