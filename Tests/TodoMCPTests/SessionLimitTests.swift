import HTTPTypes
import Testing
import TodoCore

/// A user holds at most `sessionsPerUser` MCP sessions: a new one closes the user's least
/// recently used, whose client then hears 404 (and initializes again).
@Suite struct SessionLimitTests {
    @Test func aSessionBeyondTheLimitClosesTheUsersLeastRecentlyUsed() async throws {
        try await MCPHarness.run(configure: { $0.sessionsPerUser = 2 }) { mcp in
            let token = try await mcp.signUp(), other = try await mcp.signUp()
            let othersSession = try await mcp.openSession(token: other)
            let first = try await mcp.openSession(token: token)
            let second = try await mcp.openSession(token: token)
            #expect(try await Self.answers(mcp, token, first))
            let third = try await mcp.openSession(token: token)
            #expect(try await !Self.answers(mcp, token, second), "the least recently used session stayed open")
            #expect(try await Self.answers(mcp, token, first))
            #expect(try await Self.answers(mcp, token, third))
            #expect(try await Self.answers(mcp, other, othersSession), "another user's session was closed")
        }
    }

    /// Initializations of one user counted while others are under way still end at the limit.
    @Test func parallelInitializationsLeaveNoMoreThanTheLimit() async throws {
        try await MCPHarness.run(configure: { $0.sessionsPerUser = 3 }) { mcp in
            let token = try await mcp.signUp()
            let sessions = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<12 { group.addTask { try await mcp.post(MCPHarness.initialize(), token: token).sessionID } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(sessions.compactMap { $0 }.count == 12, "every initialization is answered")
            var open = 0
            for case let session? in sessions where try await Self.answers(mcp, token, session) { open += 1 }
            #expect(open == 3)
        }
    }

    /// Whether the session still answers a request (404 once it is closed).
    private static func answers(_ mcp: MCPHarness, _ token: String, _ session: String) async throws -> Bool {
        let reply = try await mcp.post(MCPHarness.request("tools/list"), token: token, session: session)
        #expect([.ok, .notFound].contains(reply.status), "\(reply.text)")
        return reply.status == .ok
    }
}
