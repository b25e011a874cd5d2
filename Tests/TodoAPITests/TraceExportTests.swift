import Testing
import TodoCore
import TodoServer

/// Which `OTEL_*` variables turn trace export on (docs/OPERATIONS.md, "Tracing").
@Suite struct TraceExportTests {
    @Test func withoutAnExporterOrAnEndpointNothingIsExported() throws {
        #expect(try TraceExport.request(in: [:]) == .off)
        #expect(try TraceExport.request(in: ["OTEL_SERVICE_NAME": "todo", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"]) == .off)
        #expect(try TraceExport.request(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": ""]) == .off)
    }

    @Test func anEndpointOrTheOTLPExporterTurnsExportOn() throws {
        #expect(try TraceExport.request(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]) == .otlp)
        #expect(try TraceExport.request(in: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"]) == .otlp)
        #expect(try TraceExport.request(in: ["OTEL_TRACES_EXPORTER": "otlp"]) == .otlp)
        #expect(try TraceExport.request(in: ["OTEL_TRACES_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"]) == .otlp)
    }

    @Test func noneOrADisabledSDKKeepsItOffWhateverElseIsSet() throws {
        let endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]
        #expect(try TraceExport.request(in: endpoint.merging(["OTEL_TRACES_EXPORTER": "none"]) { $1 }) == .off)
        #expect(try TraceExport.request(in: endpoint.merging(["OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"]) { $1 }) == .off)
        #expect(try TraceExport.request(in: endpoint.merging(["OTEL_SDK_DISABLED": "false"]) { $1 }) == .otlp)
    }

    @Test func anExporterOrProtocolThisBuildLacksIsRefused() {
        #expect(throws: ConfigurationError.self) { try TraceExport.request(in: ["OTEL_TRACES_EXPORTER": "zipkin"]) }
        #expect(throws: ConfigurationError.self) {
            try TraceExport.request(in: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"])
        }
        #expect(throws: ConfigurationError.self) {
            try TraceExport.request(in: ["OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"])
        }
    }
}
