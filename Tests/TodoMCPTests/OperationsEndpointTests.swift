import HTTPTypes
import MCP
import NIOCore
import Testing
import TodoCore
import TodoMCP

/// The endpoints around `/mcp`: readiness, version, and the protected-resource metadata that
/// tells an MCP client how to authenticate.
@Suite struct OperationsEndpointTests {
    @Test func readyzIsOKWhileTheBackendIsUp() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.get("/readyz")
            #expect(reply.status == .ok)
            #expect(reply.messages.first?["status"] == "ready")
        }
    }

    @Test func readyzIsUnavailableWhileTheBackendIsDown() async throws {
        try await MCPHarness.runWithoutBackend { client in
            let status = try await client.execute(uri: "/readyz", method: .get) { $0.status }
            #expect(status == .serviceUnavailable)
        }
    }

    @Test func readyzIsUnavailableWhileDraining() async throws {
        try await MCPHarness.run { mcp in
            mcp.readiness.startDraining()
            let reply = try await mcp.get("/readyz")
            #expect(reply.status == .serviceUnavailable)
            #expect(reply.messages.first?["status"] == "draining")
        }
    }

    @Test func metricsCountTheServersRequests() async throws {
        try await MCPHarness.runWithoutBackend { client in
            _ = try await client.execute(uri: "/healthz", method: .get) { $0.status }
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(text.contains(#"http_server_requests_total{http_route="/healthz",http_request_method="GET",http_response_status_code="200"}"#))
            #expect(text.contains("# TYPE http_server_request_duration_seconds histogram"))
        }
    }

    @Test func healthzAnswersEvenWithoutTheBackend() async throws {
        try await MCPHarness.runWithoutBackend { client in
            let status = try await client.execute(uri: "/healthz", method: .get) { $0.status }
            #expect(status == .ok)
        }
    }

    @Test func versionNamesTheServerItsBuildAndItsProtocolVersion() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.get("/version")
            #expect(reply.status == .ok)
            #expect(reply.messages.first == [
                "name": "todo-mcp", "version": .string(BuildInfo.version), "protocol": .string(Version.latest),
            ])
        }
    }

    @Test(arguments: ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])
    func theProtectedResourceMetadataNamesTheEndpointTheSignInAndHowToSendTheToken(_ path: String) async throws {
        let configure: @Sendable (inout MCPConfiguration) -> Void = {
            $0.publicURL = "https://mcp.todo.example/"
            $0.webURL = "https://todo.example"
        }
        try await MCPHarness.run(configure: configure) { mcp in
            let reply = try await mcp.get(path)
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "application/json")
            let document = try #require(reply.messages.first)
            #expect(document["resource"] == "https://mcp.todo.example/mcp")
            #expect(document["authorization_servers"] == ["https://todo.example"])
            #expect(document["bearer_methods_supported"] == ["header"])
            #expect(document["resource_documentation"] == "https://todo.example/settings#tokens")
            let challenge = try await mcp.post(MCPHarness.initialize(), token: nil).headers[.wwwAuthenticate]
            #expect(challenge == #"Bearer resource_metadata="https://mcp.todo.example/.well-known/oauth-protected-resource/mcp""#)
        }
    }

    @Test func withoutAWebURLTheSignInIsThePublicURLsOrigin() async throws {
        try await MCPHarness.run(configure: { $0.publicURL = "https://todo.example" }) { mcp in
            let document = try #require(try await mcp.get("/.well-known/oauth-protected-resource").messages.first)
            #expect(document["authorization_servers"] == ["https://todo.example"])
            #expect(document["resource_documentation"] == "https://todo.example/settings#tokens")
        }
    }

    /// The `Host` header is the sender's to choose: without a configured public URL there is no
    /// metadata to point clients elsewhere, whatever the request says.
    @Test func withoutAPublicURLThereIsNoMetadataAndTheChallengeNamesNone() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.get("/.well-known/oauth-protected-resource/mcp")
            #expect(reply.status == .notFound)
            let challenge = try await mcp.post(MCPHarness.initialize(), token: nil).headers[.wwwAuthenticate]
            #expect(challenge == "Bearer")
        }
    }
}
