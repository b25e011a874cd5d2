import Synchronization

/// Whether this process should receive traffic: the schema is in place and it is not draining.
public final class Readiness: Sendable {
    private let schemaReady = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isSchemaReady: Bool { schemaReady.load(ordering: .acquiring) }
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    public func markSchemaReady() { schemaReady.store(true, ordering: .releasing) }
    public func startDraining() { draining.store(true, ordering: .releasing) }
}
