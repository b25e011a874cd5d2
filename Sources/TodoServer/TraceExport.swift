import Foundation
import Logging
import OTel
import ServiceLifecycle
import Synchronization
import TodoCore
import TodoTracing
import Tracing

/// OpenTelemetry trace export over OTLP/HTTP (swift-otel), off unless the standard `OTEL_*`
/// variables ask for it. Off, nothing is bootstrapped: `InstrumentationSystem` keeps its no-op
/// tracer, no connection is ever made, and `TracingSwitch` tells the servers and stores to start
/// no spans. On, every role exports its spans (server spans per request, client spans for the
/// HTTP calls it makes, one span per database operation) and the exporter runs in the role's
/// service group (`runUntilShutdown`), which shuts it down last so that it sends what is left.
public enum TraceExport {
    /// What the environment asks for.
    public enum Request: Equatable, Sendable {
        case off
        case otlp
    }

    /// Export is on with `OTEL_TRACES_EXPORTER=otlp`, or, when that variable is not set, as soon as
    /// an endpoint is (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    /// `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` keep it off whatever else is set.
    /// Other exporters and the gRPC protocol are not built in: asking for them stops the process
    /// at start-up rather than running without the traces the operator expects.
    public static func request(in environment: [String: String]) throws -> Request {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return .off }
        let endpointSet = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains { !(environment[$0] ?? "").isEmpty }
        switch environment["OTEL_TRACES_EXPORTER"]?.lowercased() ?? "" {
        case "": guard endpointSet else { return .off }
        case "none": return .off
        case "otlp": break
        case let other: throw ConfigurationError("OTEL_TRACES_EXPORTER must be otlp or none (this build exports OTLP only), got '\(other)'")
        }
        let protocolName = environment["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] ?? environment["OTEL_EXPORTER_OTLP_PROTOCOL"] ?? "http/protobuf"
        guard ["http/protobuf", "http/json"].contains(protocolName) else {
            throw ConfigurationError("OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (gRPC is not built in), got '\(protocolName)'")
        }
        return .otlp
    }

    private static let exporter = Mutex<(any Service)?>(nil)

    /// The exporter's service once `bootstrap` turned export on: `runUntilShutdown` runs it.
    static var service: (any Service)? { exporter.withLock { $0 } }

    /// Turns export on when the environment asks for it; call once per process, after logging is
    /// bootstrapped and before the servers (and their HTTP clients, which take the tracer when
    /// they are made) are built. `serviceName` (`todo-api`, ...) names the role in the traces
    /// unless `OTEL_SERVICE_NAME` does.
    public static func bootstrap(
        serviceName: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "todo.tracing")
    ) throws {
        guard try request(in: environment) == .otlp else { return }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.resourceAttributes["service.version"] = BuildInfo.version
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.diagnosticLogger = .custom(logger)
        // At info swift-otel logs the value of every OTEL_* variable it reads, API keys in
        // OTEL_EXPORTER_OTLP_HEADERS included; its warnings (failed exports) are what matters.
        configuration.diagnosticLogLevel = .warning
        // AsyncHTTPClient retries a refused connection until the request's deadline, so each
        // export to an unreachable collector takes the whole timeout, and shutdown waits for the
        // one in flight and the last one: with the specification's 10 s (30 s for a batch) a pod
        // would outlive its grace period. 3 s bounds the shutdown's wait at about 6 s.
        configuration.traces.otlpExporter.timeout = .seconds(3)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(3)
        // swift-otel reads the rest of the OTEL_* variables itself (endpoint, headers, sampler, batching).
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        TracingSwitch.turnOn(logMetadata: OTel.makeLoggingMetadataProvider())
        exporter.withLock { $0 = backend.service }
        logger.info("exporting traces", metadata: [
            "service": .string(environment["OTEL_SERVICE_NAME"] ?? serviceName),
            "endpoint": .string(environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? "http://localhost:4318"),
        ])
    }
}
