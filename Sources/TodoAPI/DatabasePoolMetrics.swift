import Prometheus
import TodoServer
import TodoStore

/// The `db_pool_*` metrics of the PostgreSQL connection pools. PostgresNIO's pool keeps its own
/// figures internal, so these are counted where the stores lease a connection (every statement
/// does): connections open but idle are not known, only those leased.
public struct DatabasePoolMetrics: ConnectionPoolObserver {
    private let maximum: Gauge
    private let inUse: Gauge
    private let waiting: Gauge
    private let waitTime: DurationHistogram

    public init(registry: PrometheusCollectorRegistry = MetricsRegistry.shared) {
        maximum = registry.makeGauge(descriptor: .init(
            namespace: "db_pool", metricName: "connections", unitName: "max", helpText: "Most connections the database pools may open"))
        inUse = registry.makeGauge(descriptor: .init(
            namespace: "db_pool", metricName: "connections", unitName: "in_use", helpText: "Database connections leased to a statement"))
        waiting = registry.makeGauge(descriptor: .init(
            namespace: "db_pool", metricName: "requests", unitName: "waiting", helpText: "Statements waiting for a free database connection"))
        waitTime = registry.makeDurationHistogram(
            descriptor: .init(namespace: "db_pool", metricName: "wait_duration", unitName: "seconds",
                              helpText: "Time a statement waited for a database connection in seconds"),
            buckets: MetricsRegistry.latencyBuckets)
    }

    public func configured(maximumConnections: Int) { maximum.set(Double(maximumConnections)) }
    public func waitStarted() { waiting.increment() }

    public func waitEnded(after wait: Duration, leased: Bool) {
        waiting.decrement()
        waitTime.record(wait)
        if leased { inUse.increment() }
    }

    public func released() { inUse.decrement() }
}
