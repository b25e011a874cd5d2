import Foundation
import Hummingbird
import ServiceLifecycle
import Synchronization
import TodoClient

/// Whether the web server should get traffic; turns false for good once shutdown begins.
public final class WebReadiness: Sendable {
    private let draining = Mutex(false)

    public init() {}

    public var isDraining: Bool { draining.withLock { $0 } }

    public func startDraining() { draining.withLock { $0 = true } }
}

/// On SIGTERM: `/readyz` turns 503 at once, the server keeps serving for `delay` (so that load
/// balancers notice), then the rest of the group shuts down and in-flight requests finish.
/// It must be the last service of its group: the group shuts services down last to first.
public struct WebDrainGate: Service {
    let readiness: WebReadiness
    let delay: Duration

    public init(readiness: WebReadiness, delay: Duration) {
        self.readiness = readiness
        self.delay = delay
    }

    public func run() async throws {
        try? await gracefulShutdown()
        readiness.startDraining()
        try? await Task.sleep(for: delay)
    }
}

/// `/healthz` (the process is up) and `/readyz` (not draining, and the backend answers).
struct HealthController: Sendable {
    let client: TodoClient
    let readiness: WebReadiness

    func addRoutes(to router: Router<WebRequestContext>) {
        router.get("healthz") { _, _ in PageSupport.json(.object(["status": .string("ok")])) }
        router.get("readyz") { _, _ in
            if readiness.isDraining { return PageSupport.json(.object(["status": .string("draining")]), status: .serviceUnavailable) }
            guard await client.isReachable() else {
                return PageSupport.json(.object(["status": .string("backend unreachable")]), status: .serviceUnavailable)
            }
            return PageSupport.json(.object(["status": .string("ready")]))
        }
    }
}
