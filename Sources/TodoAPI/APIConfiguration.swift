/// Settings of the backend. The `todo` executable fills them from the environment.
public struct APIConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    public var authSecret: String
    public var tokenLifetime: Duration = .seconds(86_400)
    public var maxBodySize = 1 << 20
    public var passwordHashCost: UInt8 = 12
    public var accessLog = true
    public var migrateOnStart = true
    /// How long /readyz answers 503 after SIGTERM before the server stops accepting connections,
    /// so that load balancers stop sending traffic first.
    public var drainDelay: Duration = .zero
    /// How long in-flight requests may take to finish after that.
    public var shutdownTimeout: Duration = .seconds(20)

    public init(authSecret: String) {
        self.authSecret = authSecret
    }
}
