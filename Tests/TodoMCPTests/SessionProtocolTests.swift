import HTTPTypes
import MCP
import Testing
import TodoCore

/// Streamable HTTP as the MCP server speaks it: a session opened by `initialize`, the tool
/// catalogue, and the end of a session.
@Suite struct SessionProtocolTests {
    @Test func initializeOpensASessionAndAgreesOnTheRequestedProtocolVersion() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.post(MCPHarness.initialize(), token: try await mcp.signUp())
            #expect(reply.status == .ok, "\(reply.text)")
            let session = try #require(reply.sessionID)
            #expect(!session.isEmpty)
            #expect(reply.result?["protocolVersion"] == .string(MCPHarness.protocolVersion))
            #expect(reply.result?["serverInfo"]?["name"] == "todo")
            #expect(reply.result?["capabilities"]?["tools"] != nil)
        }
    }

    @Test func anUnsupportedProtocolVersionIsAnsweredWithTheServersLatest() async throws {
        try await MCPHarness.run { mcp in
            let message = MCPHarness.request("initialize", id: 1, params: [
                "protocolVersion": "1999-01-01", "capabilities": [:], "clientInfo": ["name": "old", "version": "1"],
            ])
            let reply = try await mcp.post(message, token: try await mcp.signUp())
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.result?["protocolVersion"] == .string(Version.latest))
        }
    }

    @Test func eachInitializeOpensADifferentSession() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let first = try await mcp.openSession(token: token)
            let second = try await mcp.openSession(token: token)
            #expect(first != second)
        }
    }

    @Test func theInitializedNotificationIsAcceptedWithoutAnAnswer() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let session = try #require(try await mcp.post(MCPHarness.initialize(), token: token).sessionID)
            let reply = try await mcp.post(MCPHarness.initialized, token: token, session: session)
            #expect(reply.status == .accepted)
            #expect(reply.messages.isEmpty)
        }
    }

    @Test func toolsListOffersExactlyTheSharedCatalogue() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let session = try await mcp.openSession(token: token)
            let reply = try await mcp.post(MCPHarness.request("tools/list"), token: token, session: session)
            #expect(reply.status == .ok, "\(reply.text)")
            let tools = try #require(reply.result?["tools"]?.array)
            #expect(tools.map { $0["name"]?.string } == TaskTool.allCases.map(\.name))
            for (tool, listed) in zip(TaskTool.allCases, tools) {
                #expect(listed["description"] == .string(tool.description), "\(tool)")
                #expect(listed["inputSchema"] == tool.inputSchema, "\(tool)")
                #expect(listed["outputSchema"] == tool.outputSchema, "\(tool)")
            }
        }
    }

    @Test func deleteEndsTheSession() async throws {
        try await MCPHarness.run { mcp in
            let token = try await mcp.signUp()
            let session = try await mcp.openSession(token: token)
            #expect(try await mcp.delete(token: token, session: session).status == .ok)
            let after = try await mcp.post(MCPHarness.request("tools/list"), token: token, session: session)
            #expect(after.status == .notFound)
        }
    }

    @Test func anotherUsersTokenOnASessionIsAnsweredAsAnUnknownSession() async throws {
        try await MCPHarness.run { mcp in
            let owner = try await mcp.signUp()
            let intruder = try await mcp.signUp()
            let session = try await mcp.openSession(token: owner)
            let stolen = try await mcp.post(MCPHarness.toolCall("list_tasks", [:]), token: intruder, session: session)
            #expect(stolen.status == .notFound)
            #expect(stolen.result == nil)
            #expect(try await mcp.delete(token: intruder, session: session).status == .notFound)
            // The session is still its owner's.
            #expect(try await mcp.post(MCPHarness.request("tools/list"), token: owner, session: session).status == .ok)
        }
    }

    @Test func aSessionIDTheServerNeverIssuedIsNotFound() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.post(MCPHarness.request("tools/list"), token: try await mcp.signUp(), session: "no-such-session")
            #expect(reply.status == .notFound)
        }
    }

    @Test func aRequestOtherThanInitializeWithoutASessionIsABadRequest() async throws {
        try await MCPHarness.run { mcp in
            let reply = try await mcp.post(MCPHarness.request("tools/list"), token: try await mcp.signUp())
            #expect(reply.status == .badRequest)
            #expect(reply.sessionID == nil)
        }
    }
}
