import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
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

/// When to try a failed delivery again: after 1 s, doubling to an hour between attempts, until
/// a day after the event; a `Retry-After` the receiver sends is honoured within the same cap.
enum WebhookRetry {
    static let window: Int64 = 24 * 3_600_000
    static let longestPause: Int64 = 3_600_000

    static func outcome(after delivery: DueWebhookDelivery, status: Int?, retryAfterSeconds: Int64?, at now: Timestamp) -> WebhookAttemptOutcome {
        if let status, (200..<300).contains(status) { return .delivered(at: now) }
        if status == 410 { return .abandoned }  // Gone: the receiver says it will never take it.
        let doubling = Int64(1000) << min(delivery.attempt, 22)
        let pause = min(max(doubling, (retryAfterSeconds ?? 0) * 1000), longestPause)
        let next = now.adding(milliseconds: pause)
        return next.millisecondsSinceEpoch - delivery.eventTime.millisecondsSinceEpoch > window ? .abandoned : .retry(at: next)
    }
}

/// Sends due webhook deliveries. Every replica runs one; a claim in the database gives each
/// delivery to one of them at a time. Sends run concurrently, each bounded by a timeout, so a
/// slow or failing receiver never holds up another's.
struct WebhookSender: Service {
    let webhooks: any WebhookStore
    let tasks: any TaskStore
    let policy: WebhookAddressPolicy
    let http: HTTPClient
    let readiness: Readiness
    let logger: Logger
    static let pollInterval = Duration.milliseconds(500)
    static let batchSize = 50
    static let timeout = TimeAmount.seconds(10)
    /// Longer than a send can take: a claim outlives its attempt unless the process died.
    static let lease: Int64 = 30_000

    func run() async throws {
        var lastPrune = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if readiness.isSchemaReady { try await cancelWhenGracefulShutdown { try await sendDue() } }
                if ContinuousClock.now - lastPrune > .seconds(600) {
                    lastPrune = .now
                    try await webhooks.pruneDeliveries(before: Timestamp.now().adding(milliseconds: -7 * 24 * 3_600_000))
                }
            } catch {
                logger.warning("webhook deliveries failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.pollInterval) }
        }
    }

    private func sendDue() async throws {
        var claimed = Self.batchSize
        while claimed == Self.batchSize {
            let now = Timestamp.now()
            let due = try await webhooks.claimDeliveries(at: now, leaseEnd: now.adding(milliseconds: Self.lease), limit: Self.batchSize)
            claimed = due.count
            await withTaskGroup(of: Void.self) { group in
                for delivery in due { group.addTask { await send(delivery) } }
            }
        }
    }

    private func send(_ delivery: DueWebhookDelivery) async {
        var status: Int?
        var retryAfter: Int64?
        do {
            _ = try await policy.check(delivery.url)
            let response = try await http.execute(try await request(for: delivery), timeout: Self.timeout)
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "retry-after").flatMap { Int64($0) }
            _ = try? await response.body.collect(upTo: 64 * 1024)  // read and dropped: the connection can be reused
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

    static func attempts(_ outcome: WebhookAttemptOutcome) -> Counter {
        let label = switch outcome {
        case .delivered: "delivered"
        case .retry: "retry"
        case .abandoned: "abandoned"
        }
        return MetricsRegistry.shared.makeCounter(descriptor: attemptsDescriptor, labels: [("outcome", label)])
    }

    private static var attemptsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "webhook_attempts", unitName: "total", helpText: "Webhook delivery attempts by what followed: delivered, retry, abandoned")
    }
}
