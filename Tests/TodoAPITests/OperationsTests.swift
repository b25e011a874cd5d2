import Foundation
import HTTPTypes
import Testing
import TodoAPI
import TodoCore
import TodoStore

@Suite struct OperationsTests {
    @Test func healthzAnswersAlways() async throws {
        try await APIHarness.run(migrated: false) { api in
            let reply = try await api.request(.get, "/healthz")
            #expect(reply.status == .ok)
        }
    }

    @Test func readyzWaitsForTheSchemaAndTurns503WhenDraining() async throws {
        try await APIHarness.run(migrated: false) { api in
            let before = try await api.request(.get, "/readyz")
            #expect(before.status == .serviceUnavailable)
            #expect(before.object["status"] as? String == "migrating")
            try await api.storage.schema.migrate(logger: .init(label: "test"))
            api.readiness.markStartedUp()
            #expect(try await api.request(.get, "/readyz").status == .ok)
            api.readiness.startDraining()
            let draining = try await api.request(.get, "/readyz")
            #expect(draining.status == .serviceUnavailable)
            #expect(draining.object["status"] as? String == "draining")
        }
    }

    @Test func versionNamesTheBuild() async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.get, "/version")
            #expect(reply.object["version"] as? String == BuildInfo.version)
            #expect(reply.object["schema_version"] as? Int == Schema.latestVersion)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            _ = try await api.request(.get, "/api/me/tasks", token: token)
            _ = try await api.request(.get, "/api/me/tasks")
            let metrics = try await api.request(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains(#"http_server_requests_total{http_route="/api/{user_id}/tasks",http_request_method="GET",http_response_status_code="401"}"#))
            #expect(text.contains("# TYPE http_server_request_duration_seconds histogram"))
            #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
            #expect(text.contains("# TYPE reminder_delivery_lag_seconds histogram"))
            #expect(text.contains("process_resident_memory_bytes"))
            #expect(!text.contains("hb_requests"))
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        try await APIHarness.run { api in
            let generated = try await api.request(.get, "/healthz")
            #expect(generated.headers[.init("X-Request-Id")!]?.count == 32)
            let echoed = try await api.request(.get, "/healthz", headers: [.init("X-Request-Id")!: "abc-123"])
            #expect(echoed.headers[.init("X-Request-Id")!] == "abc-123")
            let hostile = try await api.request(.get, "/healthz", headers: [.init("X-Request-Id")!: "a b\"{}"])
            #expect(hostile.headers[.init("X-Request-Id")!] != "a b\"{}")
        }
    }

    @Test func unknownRouteIsAJSON404() async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.get, "/../../etc/passwd")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "not_found")
        }
    }

    @Test func openAPIDocumentIsServed() async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.get, "/openapi.json")
            #expect(reply.status == .ok)
            #expect((reply.object["openapi"] as? String)?.hasPrefix("3.1") == true)
        }
    }
}
