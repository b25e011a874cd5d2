import Foundation
import Hummingbird
import TodoClient
import TodoCore
import TodoServer

/// `/healthz` (the process is up), `/readyz` (not draining, and the backend answers),
/// `/version` and `/metrics`.
struct HealthController: Sendable {
    let client: TodoClient
    let readiness: Readiness

    func addRoutes(to router: Router<WebRequestContext>) {
        router.get("healthz") { _, _ in PageSupport.json(.object(["status": .string("ok")])) }
        router.get("readyz") { _, _ in
            if readiness.isDraining { return PageSupport.json(.object(["status": .string("draining")]), status: .serviceUnavailable) }
            guard await client.isReachable() else {
                return PageSupport.json(.object(["status": .string("backend unreachable")]), status: .serviceUnavailable)
            }
            return PageSupport.json(.object(["status": .string("ready")]))
        }
        router.get("version") { _, _ in
            PageSupport.json(.object(["name": .string("todo-web"), "version": .string(BuildInfo.version)]))
        }
        MetricsRegistry.addRoute(to: router)
    }
}
