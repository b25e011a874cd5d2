import Foundation
import HTTPTypes
import Testing
import TodoCore

/// Who may talk to the MCP server: a bearer token the backend accepts, from no browser or an
/// allowed one.
@Suite struct AccessTests {
    @Test func aRequestWithoutATokenIsChallengedWithTheResourceMetadataURL() async throws {
        try await MCPHarness.run(configure: { $0.publicURL = "http://localhost:8001" }) { mcp in
            let reply = try await mcp.post(MCPHarness.initialize(), token: nil)
            #expect(reply.status == .unauthorized)
            #expect(reply.sessionID == nil)
            #expect(reply.headers[.wwwAuthenticate]
                == #"Bearer resource_metadata="http://localhost:8001/.well-known/oauth-protected-resource/mcp""#)
            let metadata = try await mcp.get("/.well-known/oauth-protected-resource/mcp")
            #expect(metadata.status == .ok)
            #expect(metadata.messages.first?["resource"] == "http://localhost:8001/mcp")
        }
    }

    @Test func aForgedTokenIsRefused() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.post(MCPHarness.initialize(), token: "forged")
            #expect(reply.status == .unauthorized)
            #expect(reply.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
        }
    }

    @Test func aPersonalTokenOpensASession() async throws {
        try await MCPHarness.run { mcp in
            let personal = try await mcp.personalToken(try await mcp.signUp())
            let reply = try await mcp.post(MCPHarness.initialize(), token: personal.token)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.sessionID != nil)
        }
    }

    @Test func aRevokedPersonalTokenIsRefused() async throws {
        try await MCPHarness.run { mcp in
            let session = try await mcp.signUp()
            let personal = try await mcp.personalToken(session)
            try await mcp.backend.client.revokeToken(token: session, id: personal.id)
            let reply = try await mcp.post(MCPHarness.initialize(), token: personal.token)
            #expect(reply.status == .unauthorized)
            #expect(reply.sessionID == nil)
        }
    }

    @Test func aTokenRevokedDuringASessionCanNoLongerActOnTasks() async throws {
        try await MCPHarness.run { mcp in
            let session = try await mcp.signUp()
            let personal = try await mcp.personalToken(session)
            let mcpSession = try await mcp.openSession(token: personal.token)
            try await mcp.backend.client.revokeToken(token: session, id: personal.id)
            let reply = try await mcp.post(MCPHarness.toolCall("add_task", ["title": "Sneaky"]), token: personal.token, session: mcpSession)
            // Refused at the door (401), or by the backend as a tool error: either way nothing is added.
            if reply.status == .ok {
                let result = ToolResult(try #require(reply.result, "\(reply.text)"))
                #expect(result.isError)
                #expect(result.text.contains("Not allowed"), "\(result.text)")
            } else {
                #expect(reply.status == .unauthorized)
            }
            #expect(try await mcp.backend.client.listTasks(token: session).items.isEmpty)
        }
    }

    @Test func aTokenCannotBeCheckedWhileTheBackendIsDownAndTheAnswerSaysSoPromptly() async throws {
        try await MCPHarness.runWithoutBackend { client in
            var headers = MCPHarness.headers(token: "some-token", session: nil)
            headers[.contentType] = "application/json"
            let body = String(decoding: try JSONEncoder().encode(MCPHarness.initialize()), as: UTF8.self)
            let started = ContinuousClock.now
            let status = try await client.execute(uri: "/mcp", method: .post, headers: headers, body: .init(string: body)) { $0.status }
            let waited = ContinuousClock.now - started
            #expect(status == .serviceUnavailable)
            // The backend's port refuses connections: that is known at once, not after
            // TodoClient's 10 s timeout (AsyncHTTPClient's default would retry until then).
            #expect(waited < .seconds(3), "answered after \(waited)")
        }
    }

    @Test(arguments: ["https://evil.example", "http://localhost.evil.example", "null"])
    func aBrowserFromAnotherOriginIsForbidden(_ origin: String) async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.post(MCPHarness.initialize(), token: try await mcp.signUp(), headers: [.origin: origin])
            #expect(reply.status == .forbidden)
            #expect(reply.sessionID == nil)
        }
    }

    @Test(arguments: ["http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:5173"])
    func aBrowserOnALoopbackOriginIsAllowed(_ origin: String) async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.post(MCPHarness.initialize(), token: try await mcp.signUp(), headers: [.origin: origin])
            #expect(reply.status == .ok, "\(reply.text)")
        }
    }

    @Test func aBrowserOnAConfiguredOriginIsAllowed() async throws {
        try await MCPHarness.run(configure: { $0.allowedOrigins = ["https://todo.example"] }) { mcp in
            let reply = try await mcp.post(MCPHarness.initialize(), token: try await mcp.signUp(), headers: [.origin: "https://todo.example"])
            #expect(reply.status == .ok, "\(reply.text)")
        }
    }
}
