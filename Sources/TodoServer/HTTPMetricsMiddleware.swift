import HTTPTypes
import Hummingbird
import Prometheus

/// Counts requests and measures their latency, by route pattern, method and status, and keeps
/// the number in flight: the same for every role. Our own rather than Hummingbird's
/// `MetricsMiddleware`, whose names are fixed (`hb_requests`, `http_server_request_duration`:
/// no `_total`, no unit) and carry no help text, which `promtool check metrics` requires.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = MetricsRegistry.shared) {
        self.registry = registry
    }

    /// A request is measured until its response is ready: the head and, for a body built in
    /// memory, the body. A streamed body (an event stream open for hours, an export) is not
    /// waited for: its length is not the server's latency. Not wrapping the body also lets
    /// Hummingbird send a buffered response's head and body in one write (one system call and
    /// one TCP segment fewer per request; bench/RESULTS.md).
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let inFlight = registry.makeGauge(descriptor: Self.activeRequests, labels: [("http_request_method", request.method.rawValue)])
        inFlight.increment()
        defer { inFlight.decrement() }
        do {
            let response = try await next(request, context)
            record(request, route: context.endpointPath, status: response.status, since: start)
            return response
        } catch {
            record(request, route: context.endpointPath, status: (error as? any HTTPResponseError)?.status ?? .internalServerError, since: start)
            throw error
        }
    }

    private func record(_ request: Request, route: String?, status: HTTPResponse.Status, since start: ContinuousClock.Instant) {
        // A path no route matched is one label value, not one per path (unbounded cardinality).
        let labels = [("http_route", route ?? "unmatched"), ("http_request_method", request.method.rawValue),
                      ("http_response_status_code", String(status.code))]
        registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: MetricsRegistry.latencyBuckets)
            .record(ContinuousClock.now - start)
    }

    static var requests: MetricNameDescriptor {
        .init(namespace: "http_server", metricName: "requests", unitName: "total", helpText: "HTTP requests answered, by route pattern, method and status")
    }
    static var duration: MetricNameDescriptor {
        .init(namespace: "http_server", metricName: "request_duration", unitName: "seconds",
              helpText: "Time from a request's arrival to its response being ready to send in seconds")
    }
    static var activeRequests: MetricNameDescriptor {
        .init(namespace: "http_server", metricName: "active", unitName: "requests", helpText: "HTTP requests being handled, until their response is ready to send")
    }
}
