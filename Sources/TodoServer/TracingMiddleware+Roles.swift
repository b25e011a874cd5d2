import Hummingbird
import TodoTracing

extension Router {
    /// `ServerTracingMiddleware` when tracing is on (`TraceExport`), added before the other
    /// middlewares (only `EventStreamTaskMiddleware` comes earlier) so that the server span covers
    /// them and the access log line carries its ids. Off, nothing is added.
    public func addTracingMiddleware() {
        guard TracingSwitch.isOn else { return }
        add(middleware: ServerTracingMiddleware())
    }
}

/// Hummingbird's `TracingMiddleware`: a server span per request, continuing the caller's trace
/// from a W3C `traceparent` header. Query parameters that carry secrets (a password-reset or
/// invitation token, a single sign-on code and state) are recorded as REDACTED. Probes and
/// scrapes (`/healthz`, `/readyz`, `/metrics`) get no span: the kubelet and Prometheus call
/// them every few seconds, and a trace each would bury the users' requests.
struct ServerTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    static var untracedPaths: Set<String> { ["/healthz", "/readyz", "/metrics"] }

    private let tracing = TracingMiddleware<Context>(redactingQueryParameters: ["token", "invitation", "code", "state", "access_token"])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.untracedPaths.contains(request.uri.path) { return try await next(request, context) }
        return try await tracing.handle(request, context: context, next: next)
    }
}
