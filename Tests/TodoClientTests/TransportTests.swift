import Foundation
import NIOCore
import Testing
import TodoClient
import TodoCore
import TodoTestSupport

/// What the client does with the connection itself: a backend that is down, readiness checks,
/// the base URL, and the raw forwarding the web UI's `/api` proxy uses.
@Suite struct TransportTests {
    // AsyncHTTPClient retries a refused connection until the call's deadline, so a short timeout
    // keeps these tests fast: what they pin is the error, not how long it takes.

    @Test func everyCallToABackendThatIsDownThrowsUnavailable() async throws {
        try await RefusingPort.withURL { url in
            let client = TodoClient(baseURL: url, timeout: .milliseconds(300))
            let calls: [(String, @Sendable () async throws -> Void)] = [
                ("signUp", { _ = try await client.signUp(email: "ann@example.com", password: LiveBackend.password, name: nil) }),
                ("logIn", { _ = try await client.logIn(email: "ann@example.com", password: LiveBackend.password) }),
                ("me", { _ = try await client.me(token: "token") }),
                ("listTasks", { _ = try await client.listTasks(token: "token") }),
                ("createTask", { _ = try await client.createTask(token: "token", fields: TaskFields(title: "x")) }),
                ("deleteTask", { try await client.deleteTask(token: "token", id: 1) }),
                ("chat", { _ = try await client.chat(token: "token", message: "hi") }),
            ]
            for (name, call) in calls {
                let error = await clientError(call)
                guard case .unavailable? = error else {
                    Issue.record("\(name): expected unavailable, got \(String(describing: error))")
                    continue
                }
            }
        }
    }

    @Test func aBackendThatIsDownIsNeitherReadyNorReachableAndForwardingThrowsUnavailable() async throws {
        try await RefusingPort.withURL { url in
            let client = TodoClient(baseURL: url)
            #expect(await client.isReady() == false)
            #expect(await client.isReachable(timeout: .milliseconds(300)) == false)
            let error = await clientError {
                try await client.forward(method: "GET", path: "/api/me/tasks", headers: [], body: nil, timeout: .milliseconds(300))
            }
            guard case .unavailable? = error else {
                Issue.record("expected unavailable, got \(String(describing: error))")
                return
            }
        }
    }

    @Test func aRunningBackendIsReadyAndReachable() async throws {
        try await LiveBackend.run { backend in
            #expect(await backend.client.isReady())
            #expect(await backend.client.isReachable())
        }
    }

    @Test func aDrainingBackendIsReachableButNotReady() async throws {
        try await LiveBackend.run { backend in
            backend.readiness.startDraining()
            #expect(await backend.client.isReady() == false)
            #expect(await backend.client.isReachable())
        }
    }

    @Test func aBaseURLWithATrailingSlashReachesTheSameRoutes() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let slashed = TodoClient(baseURL: backend.baseURL + "/")
            #expect(try await slashed.listTasks(token: token).items.isEmpty)
        }
    }

    @Test func forwardPassesTheRequestAsItCameAndReturnsStatusHeadersAndBodyUnread() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let created = try await backend.client.forward(
                method: "POST", path: "/api/me/tasks",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"), ("X-Request-Id", "forwarded-1")],
                body: ByteBuffer(string: #"{"title": "Sent raw"}"#), timeout: .seconds(5))
            #expect(created.status.code == 201)
            #expect(created.headers.first(name: "ETag") != nil)
            #expect(created.headers.first(name: "X-Request-Id") == "forwarded-1")
            let body = String(buffer: try await created.body.collect(upTo: 1 << 20))
            #expect(body.contains(#""title":"Sent raw""#))

            // An error status is returned as an answer, not thrown.
            let refused = try await backend.client.forward(
                method: "GET", path: "/api/me/tasks?status=nope", headers: [("Authorization", "Bearer \(token)")], body: nil,
                timeout: .seconds(5))
            #expect(refused.status.code == 400)
            #expect(String(buffer: try await refused.body.collect(upTo: 1 << 20)).contains("invalid_parameter"))
        }
    }
}
