import Foundation
import Hummingbird
import NIOCore
import Prometheus
import Synchronization

/// The process-wide Prometheus registry: every role of the process and its stores record into
/// it, and each role's `/metrics` renders it (under `todo serve`, one process, each shows all).
public enum MetricsRegistry {
    public static let shared = PrometheusCollectorRegistry()

    /// The registry in Prometheus's text format, with the process figures refreshed first.
    public static func render() -> [UInt8] {
        ProcessMetrics.update(in: shared)
        return shared.emitToBuffer()
    }

    /// `GET /metrics` on `router`.
    public static func addRoute<Context: RequestContext>(to router: Router<Context>) {
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: render())))
        }
    }

    /// Buckets of request latencies and pool waits: 0.5 ms to 10 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]
}

/// The standard `process_*` metrics, read from /proc at scrape time.
enum ProcessMetrics {
    static let startTime = Date().timeIntervalSince1970
    /// The CPU time already added to the counter: a counter only grows, by the difference.
    private static let countedCPUSeconds = Mutex<Double>(0)

    static func update(in registry: PrometheusCollectorRegistry) {
        registry.makeGauge(descriptor: .init(namespace: "process", metricName: "start_time", unitName: "seconds",
                                             helpText: "Start time of the process since the Unix epoch in seconds")).set(startTime)
        if let bytes = residentBytes() {
            registry.makeGauge(descriptor: .init(namespace: "process", metricName: "resident_memory", unitName: "bytes",
                                                 helpText: "Resident memory size in bytes")).set(bytes)
        }
        if let seconds = cpuSeconds() {
            let counter = registry.makeCounter(descriptor: .init(namespace: "process", subsystem: "cpu", metricName: "seconds", unitName: "total",
                                                                 helpText: "Total user and system CPU time spent in seconds"))
            countedCPUSeconds.withLock { counted in
                if seconds > counted { counter.increment(by: seconds - counted) }
                counted = max(counted, seconds)
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            registry.makeGauge(descriptor: .init(namespace: "process", metricName: "open", unitName: "fds",
                                                 helpText: "Number of open file descriptors")).set(Double(descriptors.count))
        }
    }

    private static func residentBytes() -> Double? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let residentPages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return nil }
        return residentPages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ") else { return nil }
        // Fields after the command name: utime and stime are the 12th and 13th (in clock ticks).
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
