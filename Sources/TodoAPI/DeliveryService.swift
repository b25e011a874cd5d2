import AsyncHTTPClient
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import TodoCore
import TodoServer
import TodoStore

/// Sends an outbox's due deliveries (webhooks, Web Push, mail: the database queues them in the
/// transaction of each change). Every replica runs one; `claim` gives each delivery to one of
/// them at a time. Sends run concurrently, each bounded by a timeout, so a slow or failing
/// receiver never holds up another's; `send` records what followed, a failure being an outcome.
struct DeliveryService<Delivery: Sendable>: Service {
    let claim: @Sendable (_ now: Timestamp, _ leaseEnd: Timestamp, _ limit: Int) async throws -> [Delivery]
    let send: @Sendable (Delivery) async -> Void
    /// Deletes finished deliveries of events before the time given.
    let prune: @Sendable (Timestamp) async throws -> Void
    let readiness: Readiness
    let logger: Logger

    func run() async throws {
        var lastPrune = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if readiness.isSchemaReady { try await cancelWhenGracefulShutdown { try await sendDue() } }
                if ContinuousClock.now - lastPrune > .seconds(600) {
                    lastPrune = .now
                    try await prune(Timestamp.now().adding(milliseconds: -7 * 24 * 3_600_000))
                }
            } catch {
                logger.warning("deliveries failed", metadata: ["delivery": "\(Delivery.self)", "error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Outbound.pollInterval) }
        }
    }

    private func sendDue() async throws {
        var claimed = Outbound.batchSize
        while claimed == Outbound.batchSize {
            let now = Timestamp.now()
            let due = try await claim(now, now.adding(milliseconds: Outbound.lease), Outbound.batchSize)
            claimed = due.count
            await withTaskGroup(of: Void.self) { group in
                for delivery in due { group.addTask { await send(delivery) } }
            }
        }
    }
}

/// What every outbound delivery shares: its pace, its timeouts and its retry schedule.
enum Outbound {
    static let pollInterval = Duration.milliseconds(500)
    static let batchSize = 50
    static let timeout = TimeAmount.seconds(10)
    /// Longer than a send can take: a claim outlives its attempt unless the process died.
    static let lease: Int64 = 30_000
    /// Failures are retried until a day after the event.
    static let window: Int64 = 24 * 3_600_000
    static let longestPause: Int64 = 3_600_000

    /// After a failed attempt: again after 1 s, doubling to an hour between attempts, until a
    /// day after the event; a `Retry-After` the receiver sent is honoured within the same cap.
    static func retry(attempt: Int, eventTime: Timestamp, retryAfterSeconds: Int64?, at now: Timestamp) -> DeliveryOutcome {
        let doubling = Int64(1000) << min(attempt, 22)
        let pause = min(max(doubling, (retryAfterSeconds ?? 0) * 1000), longestPause)
        let next = now.adding(milliseconds: pause)
        return next.millisecondsSinceEpoch - eventTime.millisecondsSinceEpoch > window ? .abandoned : .retry(at: next)
    }

    /// Sends `request` and answers the status and `Retry-After` seconds; the body is read and
    /// dropped, so that the connection can be reused.
    static func execute(_ request: HTTPClientRequest, on http: HTTPClient) async throws -> (status: Int, retryAfterSeconds: Int64?) {
        let response = try await http.execute(request, timeout: timeout)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return (Int(response.status.code), response.headers.first(name: "retry-after").flatMap { Int64($0) })
    }

    /// Receivers are strangers' servers: short timeouts, no redirects (a redirect could lead to
    /// an address the policy refuses), a few connections each.
    static func httpClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// `<metric>_total{outcome}`: attempts by what followed (`gone`: a push subscription the
    /// push service no longer knows, `outcome` nil).
    static func attempts(_ metric: String, help: String, outcome: DeliveryOutcome?) -> Counter {
        let label = switch outcome {
        case .delivered: "delivered"
        case .retry: "retry"
        case .abandoned: "abandoned"
        case nil: "gone"
        }
        return MetricsRegistry.shared.makeCounter(
            descriptor: MetricNameDescriptor(metricName: metric, unitName: "total", helpText: help), labels: [("outcome", label)])
    }
}
