import AsyncHTTPClient
import NIOCore
import ServiceLifecycle

/// The HTTP client the assistant reaches the MCP server and the model provider with.
/// A refused connection fails at once instead of being retried until the request's deadline
/// (AsyncHTTPClient's default): when the MCP server is down, the user gets an answer in
/// milliseconds, not after 30 s. The model provider has its own retries with backoff.
public struct AssistantHTTPClient: Service {
    public let http: HTTPClient

    public init(connectTimeout: Duration = .seconds(5)) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(connectTimeout.components.seconds)
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the client once the application shuts down.
    public func run() async throws {
        try? await gracefulShutdown()
        try await http.shutdown()
    }
}
