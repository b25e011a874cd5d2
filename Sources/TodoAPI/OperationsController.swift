import Hummingbird
import NIOCore
import Prometheus
import TodoCore
import TodoStore
import TodoServer

/// Liveness, readiness, metrics, version and the API description.
struct OperationsController<Context: AppRequestContext>: Sendable {
    let schema: any SchemaStore
    let readiness: Readiness
    /// How long readiness waits for the database before calling it unreachable.
    let databaseCheckTimeout: Duration

    struct Status: ResponseEncodable {
        var status: String
    }

    struct Version: ResponseEncodable {
        var name = "todo"
        var version = BuildInfo.version
        var schemaVersion = Schema.latestVersion

        enum CodingKeys: String, CodingKey {
            case name, version
            case schemaVersion = "schema_version"
        }
    }

    func addRoutes(to router: Router<Context>) {
        router.get("healthz") { _, _ in Status(status: "ok") }
        router.get("readyz", use: ready)
        router.get("version") { _, _ in Version() }
        MetricsRegistry.addRoute(to: router)
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
        }
    }

    @Sendable func ready(_ request: Request, context: Context) async throws -> EditedResponse<Status> {
        if readiness.isDraining { return EditedResponse(status: .serviceUnavailable, response: Status(status: "draining")) }
        if !readiness.isSchemaReady { return EditedResponse(status: .serviceUnavailable, response: Status(status: "migrating")) }
        let reachable = await withTimeout(databaseCheckTimeout) { try await schema.ping() }
        DatabaseHealth.up.set(reachable ? 1.0 : 0.0)
        guard reachable else {
            return EditedResponse(status: .serviceUnavailable, response: Status(status: "database unreachable"))
        }
        return EditedResponse(status: .ok, response: Status(status: "ready"))
    }
}

enum DatabaseHealth {
    /// The last readiness check's answer from the database (the kubelet probes every 5 s).
    static let up = MetricsRegistry.shared.makeGauge(descriptor: .init(
        metricName: "db", unitName: "up", helpText: "Whether the database answered the last readiness check (1) or not (0)"))
}

/// Whether `work` finished without error within `limit`.
func withTimeout(_ limit: Duration, _ work: @escaping @Sendable () async throws -> Void) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask { (try? await work()) != nil }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}
