import Testing
import TodoClient
import TodoTestSupport
import TodoTracing

/// The request id of the request being served travels with the backend calls made for it, so one
/// id finds a page's (or a tool call's) log lines in every role.
@Suite struct RequestIDPropagationTests {
    @Test func callsMadeWhileServingARequestCarryItsRequestID() async throws {
        try await LiveBackend.run(configure: { $0.accessLog = true }) { backend in
            let (_, token) = try await backend.signUp()
            try await RequestIDPropagation.withRequestID("page-0042") {
                _ = try await backend.client.me(token: token)
                _ = try await backend.client.forward(
                    method: "GET", path: "/api/me/tasks", headers: [("Authorization", "Bearer \(token)")], body: nil, timeout: .seconds(5))
            }
            let lines = backend.log.all.filter { $0.message == "request" && $0.metadata["request_id"] == "page-0042" }
            #expect(lines.map { $0.metadata["path"] } == ["/api/auth/me", "/api/me/tasks"])
        }
    }

    @Test func anIDTheCallerSetWinsAndCallsOutsideARequestGetTheirOwn() async throws {
        try await LiveBackend.run { backend in
            let forwarded = try await RequestIDPropagation.withRequestID("page-0042") {
                try await backend.client.forward(
                    method: "GET", path: "/healthz", headers: [("X-Request-Id", "browser-7")], body: nil, timeout: .seconds(5))
            }
            #expect(forwarded.headers[canonicalForm: "X-Request-Id"] == ["browser-7"])
            let alone = try await backend.client.forward(method: "GET", path: "/healthz", headers: [], body: nil, timeout: .seconds(5))
            let own = try #require(alone.headers.first(name: "X-Request-Id"))
            #expect(own != "page-0042" && own.count == 32)
        }
    }
}
