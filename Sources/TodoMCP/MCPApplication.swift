import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import MCP
import NIOCore
import ServiceLifecycle
import TodoClient
import TodoCore
import TodoServer

/// Settings of the MCP server.
public struct MCPConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8001
    /// The backend API the tools call, with the caller's token.
    public var backendURL = "http://127.0.0.1:8000"
    /// Browser origins allowed to call the server (requests without `Origin` are not browsers).
    /// Loopback origins are always allowed.
    public var allowedOrigins: [String] = []
    /// A session unused this long is closed.
    public var sessionIdleTimeout: Duration = .seconds(3600)
    /// Sessions per user in this process; a new one beyond closes the user's least recently used.
    public var sessionsPerUser = 20
    /// The public base URL of the server (`https://todo.example`, where `/mcp` is served), for the
    /// protected-resource metadata. Never taken from a request's `Host`, which its sender chooses:
    /// without it there is no metadata (404) and the 401 challenge names none.
    public var publicURL: String?
    /// The web UI's public URL: where users sign in and make the personal token to send. It is
    /// the metadata's authorization server and documentation (default: the public URL's origin).
    public var webURL: String?

    public init() {}

    var publicBase: String? { publicURL.map(Self.withoutTrailingSlash) }
    var webBase: String? { webURL.map(Self.withoutTrailingSlash) }

    static func withoutTrailingSlash(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}

/// Builds the MCP server: Streamable HTTP at `/mcp` (POST, GET, DELETE) through the official
/// SDK's transport, bearer authentication against the backend, Origin checks, health endpoints.
/// Run it with `runUntilShutdown`, with the same `readiness`, for graceful shutdown.
public func buildMCPApplication(
    _ configuration: MCPConfiguration, readiness: Readiness = Readiness(), server: HTTPServerBuilder = .http1(), logger: Logger
) async -> some ApplicationProtocol {
    // A refused connection fails at once: AsyncHTTPClient would otherwise retry it until the
    // request's deadline, and a client would wait 10 s to hear that the backend is down.
    var httpConfiguration = HTTPClient.Configuration()
    httpConfiguration.connectionPool.retryConnectionEstablishment = false
    httpConfiguration.timeout.connect = .seconds(3)
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    let client = TodoClient(baseURL: configuration.backendURL, http: http)
    // The readiness probe's calls make no client spans: the kubelet calls it every few seconds.
    httpConfiguration.tracing.tracer = nil
    let probeHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    let probeClient = TodoClient(baseURL: configuration.backendURL, http: probeHTTP)
    let sessions = MCPSessions(
        tools: TaskTools(client: client), idleTimeout: configuration.sessionIdleTimeout, sessionsPerUser: configuration.sessionsPerUser,
        logger: logger)
    let endpoint = MCPEndpoint(configuration: configuration, client: client, sessions: sessions, identities: IdentityCache(client: client))
    let router = Router()
    router.add(middleware: EventStreamTaskMiddleware())
    router.addTracingMiddleware()
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HTTPMetricsMiddleware())
    MetricsRegistry.addRoute(to: router)
    router.get("healthz") { _, _ in ["status": "ok"] }
    router.get("readyz") { _, _ -> Response in
        let status = readiness.isDraining ? "draining" : await probeClient.isReady() ? "ready" : "backend unreachable"
        return Response(status: status == "ready" ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"status":"\#(status)"}"#)))
    }
    router.get("version") { _, _ in ["name": "todo-mcp", "version": BuildInfo.version, "protocol": Version.latest] }
    router.get(".well-known/oauth-protected-resource", use: endpoint.resourceMetadata)
    router.get(".well-known/oauth-protected-resource/mcp", use: endpoint.resourceMetadata)
    router.on("mcp", method: .post, use: endpoint.handle)
    router.on("mcp", method: .get, use: endpoint.handle)
    router.on("mcp", method: .delete, use: endpoint.handle)
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(SessionReaper(sessions: sessions), HTTPClientService(http: http), HTTPClientService(http: probeHTTP))
    return app
}

/// Closes idle sessions every minute, and every session at shutdown.
struct SessionReaper: Service {
    let sessions: MCPSessions

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(60)) }
            await sessions.closeIdle()
        }
        await sessions.closeAll()
    }
}

/// Who a token belongs to, asked of the backend and remembered briefly so that a burst of MCP
/// messages does not cost a round trip each. One second, as long as the backend itself trusts a
/// known account: a revoked token stops here within the same second as at the API.
actor IdentityCache {
    private let client: TodoClient
    private var known: [String: (userID: UserID, until: ContinuousClock.Instant)] = [:]
    static let lifetime: Duration = .seconds(1)

    init(client: TodoClient) {
        self.client = client
    }

    /// The user of `token`; nil when the backend rejects it. Throws when the backend is unreachable.
    func user(for token: String) async throws -> UserID? {
        let now = ContinuousClock.now
        if let entry = known[token], entry.until > now { return entry.userID }
        do {
            let user = try await client.me(token: token)
            if known.count > 10_000 { known.removeAll() }
            known[token] = (user.id, now + Self.lifetime)
            return user.id
        } catch TodoClientError.unauthorized, TodoClientError.forbidden {
            known[token] = nil
            return nil
        }
    }
}

struct MCPEndpoint: Sendable {
    let configuration: MCPConfiguration
    let client: TodoClient
    let sessions: MCPSessions
    let identities: IdentityCache
    static let bodyLimit = 4 << 20

    @Sendable func handle(_ request: Request, context: BasicRequestContext) async throws -> Response {
        if let origin = request.headers[.origin], !isAllowed(origin: origin) {
            return Self.error(403, "Forbidden: origin \(origin) is not allowed")
        }
        guard let token = bearerToken(request.headers[.authorization]) else {
            return unauthorized(request, "a bearer token is required (a personal API token or a log-in token)")
        }
        let userID: UserID?
        do {
            userID = try await identities.user(for: token)
        } catch {
            return Self.error(503, "the task service is unreachable")
        }
        guard let userID else { return unauthorized(request, "the token is invalid, revoked or expired") }
        var body: Data?
        if request.method == .post {
            let buffer = try await request.body.collect(upTo: Self.bodyLimit)
            body = Data(buffer.readableBytesView)
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = headers[field.name.canonicalName].map { $0 + ", " + field.value } ?? field.value
        }
        let mcpRequest = MCP.HTTPRequest(
            method: request.method.rawValue, headers: MCPRequestContext.headers(headers), body: body, path: request.uri.path)
        return Self.response(await sessions.handle(mcpRequest, userID: userID), sessions: sessions)
    }

    /// RFC 9728 protected-resource metadata: tells MCP clients how to authenticate.
    @Sendable func resourceMetadata(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let base = configuration.publicBase else {
            return Self.error(404, "No protected-resource metadata: the server's public URL (MCP_PUBLIC_URL) is not configured.")
        }
        let web = configuration.webBase ?? base
        let document: [String: Any] = [
            "resource": base + "/mcp",
            "authorization_servers": [web],
            "bearer_methods_supported": ["header"],
            "resource_name": "Todo MCP server",
            "resource_documentation": web + "/settings#tokens",
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func isAllowed(origin: String) -> Bool {
        if configuration.allowedOrigins.contains(origin) { return true }
        guard let url = URLComponents(string: origin), let host = url.host else { return false }
        return ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host)
    }

    func unauthorized(_ request: Request, _ message: String) -> Response {
        var response = Self.error(401, "Unauthorized: \(message)")
        response.headers[.wwwAuthenticate] = configuration.publicBase.map {
            #"Bearer resource_metadata="\#($0)/.well-known/oauth-protected-resource/mcp""#
        } ?? "Bearer"
        return response
    }

    static func error(_ status: Int, _ message: String) -> Response {
        let body = #"{"jsonrpc":"2.0","error":{"code":-32600,"message":\#(jsonString(message))},"id":null}"#
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func jsonString(_ text: String) -> String {
        (try? String(decoding: JSONEncoder().encode(text), as: UTF8.self)) ?? "\"\""
    }

    /// The SDK's response as a Hummingbird response; SSE streams are piped as they come and
    /// end when the server shuts down.
    static func response(_ response: MCP.HTTPResponse, sessions: MCPSessions) -> Response {
        var headers = HTTPFields()
        for (name, value) in response.headers {
            if let fieldName = HTTPField.Name(name) { headers[fieldName] = value }
        }
        let status = HTTPTypes.HTTPResponse.Status(code: response.statusCode)
        if case .stream(let stream, _) = response {
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                try await withGracefulShutdownHandler {
                    for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                } onGracefulShutdown: {
                    Task { await sessions.closeAll() }
                }
                try await writer.finish(nil)
            })
        }
        let body = response.bodyData.map { ByteBuffer(bytes: $0) } ?? ByteBuffer()
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}
