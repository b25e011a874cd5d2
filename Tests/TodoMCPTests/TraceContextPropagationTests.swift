import AsyncHTTPClient
import MCP
import OTel
import Testing
import TodoAssistant
import TodoTracing
import Tracing

@testable import TodoMCP

/// The assistant's calls to the MCP server carry the chat turn's trace (W3C `traceparent`) and
/// request id, and the MCP server hands both to the tool that runs the call.
@Suite struct TraceContextPropagationTests {
    @Test func toolCallsCarryTheTurnsTraceAndRequestID() async throws {
        // A tracer as `TraceExport` makes it (exporting nowhere), given to the client as the roles'
        // HTTP clients take the bootstrapped one.
        var configuration = OTel.Configuration.default
        configuration.traces.exporter = .none
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        let tracer = try OTel.makeTracingBackend(configuration: configuration).factory
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.tracing.tracer = tracer
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        try await Backend.run { backend in
            try await RecordingProxy.run { proxy, url in
                try await serveMCP(backendURL: backend.baseURL) { server in
                    proxy.upstream = server
                    let client = MCPToolClient(url: url, token: try await backend.signUp(), sessions: MCPSessionPool(), http: http)
                    try await tracer.withSpan("chat turn") { _ in
                        try await RequestIDPropagation.withRequestID("turn-0007") {
                            _ = try await client.call("list_tasks", arguments: [:])
                        }
                    }
                }
                let parents = try proxy.exchanges.map { try #require($0.traceparent) }
                #expect(proxy.exchanges.map(\.requestID) == Array(repeating: "turn-0007", count: parents.count))
                // version-trace id-parent span id-flags: one trace, a client span per exchange.
                let fields = parents.map { $0.split(separator: "-") }
                #expect(parents.count == 3 && fields.allSatisfy { $0.count == 4 && $0[1].count == 32 && $0[2].count == 16 })
                #expect(Set(fields.map { $0[1] }).count == 1)
                #expect(Set(fields.map { $0[2] }).count == parents.count)
            }
        }
        try await http.shutdown()
    }

    @Test func withoutATracerCallsCarryTheRequestIDAndNoTraceparent() async throws {
        try await Backend.run { backend in
            try await RecordingProxy.run { proxy, url in
                try await serveMCP(backendURL: backend.baseURL) { server in
                    proxy.upstream = server
                    let client = MCPToolClient(url: url, token: try await backend.signUp(), sessions: MCPSessionPool())
                    try await RequestIDPropagation.withRequestID("turn-0008") {
                        _ = try await client.call("list_tasks", arguments: [:])
                    }
                }
                #expect(!proxy.exchanges.isEmpty)
                #expect(proxy.exchanges.allSatisfy { $0.requestID == "turn-0008" && $0.traceparent == nil })
            }
        }
    }

    @Test func aToolRunsWithTheRequestIDOfTheHTTPRequestThatCarriedIt() async {
        func requestID(sent value: String) async -> String? {
            let request = MCP.HTTPRequest(method: "POST", headers: ["X-Request-Id": value], body: nil, path: "/mcp")
            return await MCPRequestContext.withContext(of: request, tool: "add_task") { RequestIDPropagation.current }
        }
        #expect(await requestID(sent: "turn-0009") == "turn-0009")
        // An id that could forge log lines is dropped, as the servers drop it.
        #expect(await requestID(sent: "a\"b") == nil)
        #expect(await MCPRequestContext.withContext(of: nil, tool: "add_task") { RequestIDPropagation.current } == nil)
    }
}
