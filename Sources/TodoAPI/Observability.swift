import Foundation
import Metrics
import Prometheus

/// The process-wide Prometheus registry. swift-metrics allows one bootstrap per process, so
/// the first use bootstraps it; the server and the tests share it.
public enum MetricsRegistry {
    public static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// The registry in Prometheus text format, with the process figures refreshed first.
    static func render() -> [UInt8] {
        ProcessMetrics.update(in: shared)
        return shared.emitToBuffer()
    }
}

/// The standard `process_*` metrics, read from /proc at scrape time.
enum ProcessMetrics {
    static let startTime = Date().timeIntervalSince1970

    static func update(in registry: PrometheusCollectorRegistry) {
        registry.makeGauge(descriptor: .init(namespace: "process", metricName: "start_time", unitName: "seconds", helpText: "Start time of the process since the Unix epoch")).set(startTime)
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
           let residentPages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) {
            registry.makeGauge(descriptor: .init(namespace: "process", metricName: "resident_memory", unitName: "bytes", helpText: "Resident memory size in bytes"))
                .set(residentPages * Double(sysconf(Int32(_SC_PAGESIZE))))
        }
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let afterName = stat.range(of: ") ") {
            // Fields after the command name: utime and stime are the 12th and 13th (in clock ticks).
            let fields = stat[afterName.upperBound...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
                registry.makeGauge(descriptor: .init(namespace: "process", subsystem: "cpu", metricName: "seconds", unitName: "total", helpText: "User and system CPU time spent in seconds"))
                    .set((user + system) / ticks)
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            registry.makeGauge(descriptor: .init(namespace: "process", metricName: "open", unitName: "fds", helpText: "Number of open file descriptors")).set(Double(descriptors.count))
        }
    }
}
