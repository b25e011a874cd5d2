import HTTPTypes
import Hummingbird

/// Serves a request for an event stream (`Accept: text/event-stream`: the browser's
/// `EventSource`, the API's event clients, MCP's streams) in a child task.
///
/// Swift's task allocator keeps the slabs of a task's deepest call until the task ends, and a
/// connection's task lives as long as the connection: an event stream, open for hours, would keep
/// the memory of the router, the middlewares and the handler's database reads. In a child task
/// that memory goes back as soon as the response is ready, and the stream is written from the
/// connection's shallow stack: 36.6 KiB per open stream becomes 25.4 KiB. Other requests are
/// not moved: their connection's task reuses its slabs from one request to the next, and a child
/// task for every request took fresh slabs from malloc each time (list50 0.82 of the throughput;
/// bench/RESULTS.md). Added first, so that it wraps every other middleware.
public struct EventStreamTaskMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[.accept]?.contains("text/event-stream") == true else { return try await next(request, context) }
        // The child ends before this returns (`async let` is awaited), so `next` is never used
        // concurrently with anything else of this request.
        nonisolated(unsafe) let next = next
        async let response = next(request, context)
        return try await response
    }
}
