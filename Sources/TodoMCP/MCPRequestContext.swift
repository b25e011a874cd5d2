import Hummingbird
import MCP
import TodoCore
import TodoServer
import TodoTracing
import Tracing

/// The SDK runs a session's tool handlers in the session's own task, not in the task of the HTTP
/// request that carried the call, so the request's task context (its span, its request id) does
/// not reach them, nor the backend calls a tool makes. The context travels in the request's
/// headers instead, which the SDK hands to the handler: `headers(_:)` puts the MCP server span
/// there as `traceparent` on the way in, and `withContext(of:tool:_:)` takes it out again.
enum MCPRequestContext {
    /// The request's headers for the SDK, with the caller's `traceparent` and `tracestate`
    /// replaced by this server's span, so that the tool's spans and calls are its children.
    static func headers(_ headers: [String: String]) -> [String: String] {
        guard TracingSwitch.isOn, let context = ServiceContext.current else { return headers }
        var headers = headers.filter { !["traceparent", "tracestate"].contains($0.key.lowercased()) }
        InstrumentationSystem.instrument.inject(context, into: &headers, using: DictionaryInjector())
        return headers
    }

    /// Runs a tool call in the context of the HTTP request that carried it (`request`, nil
    /// outside HTTP): its trace, in a span of the tool's own, and its `X-Request-Id`.
    static func withContext<T: Sendable>(of request: MCP.HTTPRequest?, tool: String, _ body: () async -> T) async -> T {
        var context = ServiceContext.topLevel
        if TracingSwitch.isOn, let request {
            InstrumentationSystem.instrument.extract(request, into: &context, using: HeaderExtractor())
        }
        context.requestID = RequestID.accepting(request?.header(RequestIDPropagation.headerName))
        return await ServiceContext.$current.withValue(context) {
            guard TracingSwitch.isOn else { return await body() }
            return await withSpan("tools/call \(tool)") { span in
                span.attributes["mcp.tool.name"] = tool
                return await body()
            }
        }
    }
}

private struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout [String: String]) {
        headers[key] = value
    }
}

private struct HeaderExtractor: Extractor {
    func extract(key: String, from request: MCP.HTTPRequest) -> String? {
        request.header(key)
    }
}

/// Keeps the caller's `X-Request-Id` (the assistant sends its chat request's) in the task context
/// of an MCP request, so that the backend calls made while serving it (the token check) carry
/// it too, and answers it in the response, as the other roles do; a caller without a usable one
/// gets a new one.
struct RequestIDMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = RequestID.accepting(request.headers[.xRequestID]) ?? RequestID.make()
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await RequestIDPropagation.withRequestID(id) { try await next(request, context) }
        response.headers[.xRequestID] = id
        return response
    }
}
