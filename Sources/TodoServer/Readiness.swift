import Logging
import ServiceLifecycle
import Synchronization

/// Whether this process should receive traffic: its start-up work is done (for the backend:
/// the schema is in place) and it is not draining. Every role answers `/readyz` from it.
public final class Readiness: Sendable {
    private let startedUp: Atomic<Bool>
    private let draining = Atomic<Bool>(false)

    /// `startedUp: false` for a process that must finish some work before it takes traffic.
    public init(startedUp: Bool = true) {
        self.startedUp = Atomic(startedUp)
    }

    public var isStartedUp: Bool { startedUp.load(ordering: .acquiring) }
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    public func markStartedUp() { startedUp.store(true, ordering: .releasing) }
    public func startDraining() { draining.store(true, ordering: .releasing) }
}

/// On SIGTERM: readiness turns 503 at once, the server keeps serving for `delay` (so load
/// balancers notice), then the rest of the group shuts down and in-flight requests finish.
/// It must be the last service of its group: the group shuts services down last to first.
struct DrainGate: Service {
    let readiness: Readiness
    let delay: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        readiness.startDraining()
        logger.info("draining", metadata: ["delay_seconds": .stringConvertible(delay.components.seconds)])
        try? await Task.sleep(for: delay)
    }
}

/// How a server process stops: how long it stays up but unready after SIGTERM, and how long
/// in-flight requests then get to finish.
public struct ShutdownSettings: Sendable {
    /// `SHUTDOWN_DRAIN_SECONDS`: long enough for load balancers to notice the 503.
    public var drainDelay: Duration
    /// `SHUTDOWN_TIMEOUT_SECONDS`: the longest in-flight requests may still take.
    public var timeout: Duration

    public init(drainDelay: Duration = .zero, timeout: Duration = .seconds(20)) {
        self.drainDelay = drainDelay
        self.timeout = timeout
    }
}

/// Runs a server's services until SIGTERM or SIGINT, then shuts down gracefully, the same way
/// for every role: readiness turns 503 and the server keeps serving for the drain delay, then
/// it stops accepting, in-flight requests finish (within the timeout) and the services stop,
/// last to first.
public func runUntilShutdown(
    _ services: [any Service], readiness: Readiness, shutdown: ShutdownSettings, logger: Logger
) async throws {
    var group = ServiceGroupConfiguration(
        // The trace exporter, when on, comes first: it stops last and sends the spans of the
        // requests that finished during the shutdown.
        services: ([TraceExport.service].compactMap { $0 } + services).map { .init(service: $0) } + [
            // Last, so that it is the first to hear of the shutdown.
            .init(service: DrainGate(readiness: readiness, delay: shutdown.drainDelay, logger: logger)),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger)
    group.maximumGracefulShutdownDuration = shutdown.drainDelay + shutdown.timeout
    group.maximumCancellationDuration = .seconds(5)
    try await ServiceGroup(configuration: group).run()
}
