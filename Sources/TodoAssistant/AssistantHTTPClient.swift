import AsyncHTTPClient
import NIOCore

/// The HTTP client the assistant reaches the MCP server and the model provider with.
/// A refused connection fails at once instead of being retried until the request's deadline
/// (AsyncHTTPClient's default): when the MCP server is down, the user gets an answer in
/// milliseconds, not after 30 s. The model provider has its own retries with backoff.
public enum AssistantHTTPClient {
    public static func make(connectTimeout: Duration = .seconds(5)) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(connectTimeout.components.seconds)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
