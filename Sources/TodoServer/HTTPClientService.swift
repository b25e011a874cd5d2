import AsyncHTTPClient
import ServiceLifecycle

/// Shuts an `HTTPClient` down once the application shuts down, after the server has stopped
/// (so requests in flight can still use it).
public struct HTTPClientService: Service {
    public let http: HTTPClient

    public init(http: HTTPClient) {
        self.http = http
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await http.shutdown()
    }
}
