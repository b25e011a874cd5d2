import Logging
import Synchronization

/// Whether this process traces, and how its log lines name the active span. Turned on once, by
/// the exporter's bootstrap (`TraceExport` in TodoServer), before any server is built. While it
/// is off nothing pays for tracing: the servers add no tracing middleware, the stores start no
/// spans, and a log line costs one atomic load more.
public enum TracingSwitch {
    private static let on = Atomic<Bool>(false)
    private static let logMetadataProvider = Mutex<Logger.MetadataProvider?>(nil)

    public static var isOn: Bool { on.load(ordering: .acquiring) }

    /// `logMetadata` gives the ids of the active span (swift-otel's provider: `trace_id`, `span_id`).
    public static func turnOn(logMetadata: Logger.MetadataProvider) {
        logMetadataProvider.withLock { $0 = logMetadata }
        on.store(true, ordering: .releasing)
    }

    /// Whether the task runs inside a traced request: the stores start spans only then, so that
    /// background work (the reminder scheduler, event polling, every second or faster) adds no
    /// traces of its own.
    public static var hasActiveSpan: Bool {
        logMetadata()["span_id"] != nil
    }

    /// The active span's ids for a log line; empty while tracing is off or outside any span.
    public static func logMetadata() -> Logger.Metadata {
        guard isOn, let provider = logMetadataProvider.withLock({ $0 }) else { return [:] }
        var metadata = provider.get()
        // The sampling flag says nothing to someone reading logs.
        metadata["trace_flags"] = nil
        return metadata
    }
}
