import Tracing

extension ServiceContext {
    /// The `X-Request-Id` of the request being served, so that the calls made while serving it
    /// (web UI to API, API to MCP server, MCP server to API, API to the model) carry the same id
    /// and one id finds a request's log lines in every role.
    public var requestID: String? {
        get { self[RequestIDKey.self] }
        set { self[RequestIDKey.self] = newValue }
    }
}

private enum RequestIDKey: ServiceContextKey {
    typealias Value = String
    static var nameOverride: String? { "request_id" }
}

/// Carries the request id in the task's context (a task-local value) from the server that
/// received a request to the HTTP clients that call on its behalf.
public enum RequestIDPropagation {
    public static let headerName = "X-Request-Id"

    /// The id of the request this task serves; nil outside a request.
    public static var current: String? { ServiceContext.current?.requestID }

    /// Runs `body` with `id` as the request id of the task's context (keeping the rest of the
    /// context, such as the active span).
    public static func withRequestID<T>(
        _ id: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        var context = ServiceContext.current ?? .topLevel
        context.requestID = id
        return try await ServiceContext.$current.withValue(context) { try await body() }
    }
}
