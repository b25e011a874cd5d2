import Testing
import TodoAssistant
import TodoCore

/// The assistant's client of the MCP server (`MCPToolClient`), against the real server: one
/// session per token, kept in the pool and reused, and opened again when the server forgot it.
@Suite struct MCPToolClientTests {
    @Test func aCallReturnsTheToolsTextAndStructuredResult() async throws {
        try await Backend.run { backend in
            try await serveMCP(backendURL: backend.baseURL) { server in
                let token = try await backend.signUp()
                let client = MCPToolClient(url: server + "/mcp", token: token, sessions: MCPSessionPool())
                let outcome = try await client.call("add_task", arguments: ["title": "Buy milk"])
                #expect(!outcome.isError, "\(outcome.text)")
                #expect(outcome.text.contains("Buy milk"))
                #expect(outcome.structured?["task"]?["title"] == "Buy milk")
                #expect(try await backend.client.listTasks(token: token).items.map(\.fields.title) == ["Buy milk"])
            }
        }
    }

    @Test func aToolErrorComesBackAsAnOutcomeMarkedAsError() async throws {
        try await Backend.run { backend in
            try await serveMCP(backendURL: backend.baseURL) { server in
                let client = MCPToolClient(url: server + "/mcp", token: try await backend.signUp(), sessions: MCPSessionPool())
                let outcome = try await client.call("complete_task", arguments: ["task_id": "999999"])
                #expect(outcome.isError)
                #expect(outcome.text.contains("No such task"), "\(outcome.text)")
            }
        }
    }

    @Test func twoCallsWithOnePoolShareOneSession() async throws {
        try await Backend.run { backend in
            try await RecordingProxy.run { proxy, url in
                try await serveMCP(backendURL: backend.baseURL) { server in
                    proxy.upstream = server
                    let token = try await backend.signUp()
                    let pool = MCPSessionPool()
                    // A client per chat message, as the chat endpoint makes them; the pool outlives them.
                    _ = try await MCPToolClient(url: url, token: token, sessions: pool).call("add_task", arguments: ["title": "One"])
                    let listed = try await MCPToolClient(url: url, token: token, sessions: pool).call("list_tasks", arguments: [:])
                    #expect(!listed.isError, "\(listed.text)")
                    let opened = proxy.exchanges(of: "initialize")
                    #expect(opened.count == 1)
                    let session = try #require(opened.first?.assignedSession)
                    let calls = proxy.exchanges(of: "tools/call")
                    #expect(calls.map(\.session) == [session, session])
                    #expect(calls.map(\.status) == [200, 200])
                }
            }
        }
    }

    @Test func eachTokenHasItsOwnSession() async throws {
        try await Backend.run { backend in
            try await RecordingProxy.run { proxy, url in
                try await serveMCP(backendURL: backend.baseURL) { server in
                    proxy.upstream = server
                    let pool = MCPSessionPool()
                    for _ in 0..<2 {
                        let token = try await backend.signUp()
                        _ = try await MCPToolClient(url: url, token: token, sessions: pool).call("list_tasks", arguments: [:])
                    }
                    let sessions = proxy.exchanges(of: "tools/call").compactMap(\.session)
                    #expect(proxy.exchanges(of: "initialize").count == 2)
                    #expect(Set(sessions).count == 2)
                }
            }
        }
    }

    @Test func afterTheServerForgetsTheSessionTheNextCallOpensANewOneAndSucceeds() async throws {
        try await Backend.run { backend in
            try await RecordingProxy.run { proxy, url in
                let token = try await backend.signUp()
                let client = MCPToolClient(url: url, token: token, sessions: MCPSessionPool())
                try await serveMCP(backendURL: backend.baseURL) { server in
                    proxy.upstream = server
                    let before = try await client.call("add_task", arguments: ["title": "Before the restart"])
                    #expect(!before.isError, "\(before.text)")
                }
                // A new MCP server behind the same URL: it knows none of the old sessions.
                try await serveMCP(backendURL: backend.baseURL) { server in
                    proxy.upstream = server
                    let after = try await client.call("add_task", arguments: ["title": "After the restart"])
                    #expect(!after.isError, "\(after.text)")
                }
                let calls = proxy.exchanges(of: "tools/call")
                #expect(calls.map(\.status) == [200, 404, 200])
                let opened = proxy.exchanges(of: "initialize").compactMap(\.assignedSession)
                #expect(opened.count == 2)
                #expect(calls.map(\.session) == [opened.first, opened.first, opened.last])
                let titles = try await backend.client.listTasks(token: token).items.map(\.fields.title)
                #expect(Set(titles) == ["Before the restart", "After the restart"])
            }
        }
    }

    @Test func aCallThrowsToolsUnavailableWhenTheServerIsUnreachable() async throws {
        // The HTTP client the chat endpoint gives it: a refused connection fails at once.
        let url = try await Backend.closedPortURL() + "/mcp"
        let http = AssistantHTTPClient.make()
        let client = MCPToolClient(url: url, token: "some-token", sessions: MCPSessionPool(), http: http)
        await #expect(throws: ToolsUnavailable.self) { try await client.call("list_tasks", arguments: [:]) }
        try await http.shutdown()
    }
}
