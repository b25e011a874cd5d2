import Hummingbird
import TodoTracing

extension Router {
    /// Hummingbird's `TracingMiddleware` when tracing is on (`TraceExport`), added first so that
    /// the server span covers every other middleware and the access log line carries its ids.
    /// It continues the caller's trace from a W3C `traceparent` header. Query parameters that
    /// carry secrets (a password-reset or invitation token, a single sign-on code and state) are
    /// recorded as REDACTED. Off, nothing is added.
    public func addTracingMiddleware() {
        guard TracingSwitch.isOn else { return }
        add(middleware: TracingMiddleware(redactingQueryParameters: ["token", "invitation", "code", "state", "access_token"]))
    }
}
