import HummingbirdCore

extension CommonSettings {
    /// The HTTP/1.1 server of every role (API, web UI, MCP). A connection that sends no complete
    /// request head for `idleTimeout` (between requests, or while its headers trickle in: a
    /// slowloris client) is closed; a request being answered, such as an event stream, is never
    /// cut. 65 s outlasts the common load-balancer idle timeout (60 s), so that the balancer,
    /// not the server, closes kept-alive connections. Request heads above 32 KiB or 100 fields
    /// get 400 and a close.
    var httpServer: HTTPServerBuilder {
        .http1(configuration: HTTP1Channel.Configuration(
            idleTimeout: .seconds(idleTimeout.components.seconds),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 32 << 10, maxHeaderFieldCount: 100)))
    }
}
