import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import TodoCore
import TodoMCP

/// A small HTTP proxy in front of the MCP server that records each exchange: it shows which
/// sessions a client opens and uses, and lets a test swap the server behind one URL (a restart).
final class RecordingProxy: Sendable {
    /// One request through the proxy and the answer it got.
    struct Exchange: Sendable {
        /// The JSON-RPC method of the request.
        var method: String?
        /// The session the request named (`Mcp-Session-Id`).
        var session: String?
        var status: Int
        /// The session the answer named (`initialize` opens one).
        var assignedSession: String?
        /// The request's W3C `traceparent` and `X-Request-Id`, as the client sent them.
        var traceparent: String?
        var requestID: String?
    }

    private let state = Mutex<(upstream: String?, exchanges: [Exchange])>((nil, []))

    /// The base URL of the MCP server behind the proxy.
    var upstream: String? {
        get { state.withLock { $0.upstream } }
        set { state.withLock { $0.upstream = newValue } }
    }

    var exchanges: [Exchange] { state.withLock { $0.exchanges } }

    func exchanges(of method: String) -> [Exchange] {
        exchanges.filter { $0.method == method }
    }

    /// Runs `body` with a proxy on a real socket and the URL of its `/mcp`.
    static func run(_ body: @Sendable (RecordingProxy, String) async throws -> Void) async throws {
        let proxy = RecordingProxy()
        let router = Router()
        router.on("mcp", method: .post) { request, _ in try await proxy.forward(request) }
        router.on("mcp", method: .delete) { request, _ in try await proxy.forward(request) }
        try await Application(router: router, logger: quietLogger).test(.live) { client in
            try await body(proxy, "http://localhost:\(try #require(client.port))/mcp")
        }
    }

    private func forward(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        let method = (try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)))?["method"]?.string
        let session = request.headers[.mcpSessionID]
        guard let upstream else {
            record(Exchange(method: method, session: session, status: 502))
            return Response(status: .badGateway)
        }
        var outgoing = HTTPClientRequest(url: upstream + "/mcp")
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name) {
            outgoing.headers.add(name: field.name.canonicalName, value: field.value)
        }
        outgoing.body = .bytes(body)
        let answer = try await HTTPClient.shared.execute(outgoing, timeout: .seconds(10))
        let answerBody = try await answer.body.collect(upTo: 16 << 20)
        var headers = HTTPFields()
        for (name, value) in answer.headers {
            guard let fieldName = HTTPField.Name(name), !Self.hopByHop.contains(fieldName) else { continue }
            headers.append(HTTPField(name: fieldName, value: value))
        }
        record(Exchange(
            method: method, session: session, status: Int(answer.status.code), assignedSession: headers[.mcpSessionID],
            traceparent: request.headers[HTTPField.Name("traceparent")!], requestID: request.headers[HTTPField.Name("X-Request-Id")!]))
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: answerBody))
    }

    private func record(_ exchange: Exchange) {
        state.withLock { $0.exchanges.append(exchange) }
    }

    private static let hopByHop: Set<HTTPField.Name> = [.connection, .contentLength, .transferEncoding]
}

/// The MCP server on a real socket, calling `backendURL`; `body` gets its base URL.
func serveMCP(backendURL: String, _ body: @Sendable (String) async throws -> Void) async throws {
    var configuration = MCPConfiguration()
    configuration.backendURL = backendURL
    try await buildMCPApplication(configuration, logger: quietLogger).test(.live) { client in
        try await body("http://localhost:\(try #require(client.port))")
    }
}
