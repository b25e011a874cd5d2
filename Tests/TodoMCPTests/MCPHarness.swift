import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Testing
import TodoAPI
import TodoClient
import TodoCore
import TodoMCP
import TodoServer
import TodoStore

/// The real backend on a fresh SQLite database, served on a real socket: what the MCP server
/// calls, with each caller's token, as it does in the cluster.
struct Backend: Sendable {
    let baseURL: String
    let client: TodoClient

    static let secret = "test-secret-that-is-long-enough-0123456789"
    static let password = "correct horse battery"

    static func run(_ body: @Sendable (Backend) async throws -> Void) async throws {
        var configuration = APIConfiguration(authSecret: secret)
        configuration.passwordHashCost = 4
        configuration.accessLog = false
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("todo-mcp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let opened = try await DatabaseLocation(url: "sqlite://\(directory.path)/todo.db")
            .open(poolSize: 2, connectTimeout: .seconds(5), logger: quietLogger)
        let readiness = Readiness(startedUp: false)
        do {
            try await opened.storage.schema.migrate(logger: quietLogger)
            readiness.markStartedUp()
            let app = await buildApplication(configuration, storage: opened.storage, readiness: readiness, logger: quietLogger)
            try await app.test(.live) { server in
                let baseURL = "http://localhost:\(try #require(server.port))"
                try await body(Backend(baseURL: baseURL, client: TodoClient(baseURL: baseURL)))
            }
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    /// A new account's log-in token.
    func signUp() async throws -> String {
        let email = "user-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        return try await client.signUp(email: email, password: Self.password, name: nil).token
    }

    /// The URL of a local port where nothing listens: bound, then closed again.
    static func closedPortURL() async throws -> String {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return "http://127.0.0.1:\(port)"
    }
}

let quietLogger: Logger = {
    var logger = Logger(label: "todo-mcp-tests")
    logger.logLevel = .critical
    return logger
}()

/// The MCP server (`buildMCPApplication`) driven in process through Hummingbird's router test
/// client, with its tools calling a live backend.
struct MCPHarness: Sendable {
    let mcp: any TestClientProtocol
    let backend: Backend
    let readiness: Readiness

    static let protocolVersion = "2025-11-25"

    /// Runs `body` against a new backend and a new MCP server in front of it.
    static func run(
        configure: @escaping @Sendable (inout MCPConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (MCPHarness) async throws -> Void
    ) async throws {
        try await Backend.run { backend in
            var configuration = MCPConfiguration()
            configuration.backendURL = backend.baseURL
            configure(&configuration)
            let readiness = Readiness()
            let app = await buildMCPApplication(configuration, readiness: readiness, logger: quietLogger)
            try await app.test(.router) { client in
                try await body(MCPHarness(mcp: client, backend: backend, readiness: readiness))
            }
        }
    }

    /// An MCP server whose backend does not answer.
    static func runWithoutBackend(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var configuration = MCPConfiguration()
        configuration.backendURL = try await Backend.closedPortURL()
        let app = await buildMCPApplication(configuration, logger: quietLogger)
        try await app.test(.router, body)
    }

    // MARK: Requests

    /// Sends one JSON-RPC message (or any body) to `/mcp` as a Streamable HTTP client would.
    @discardableResult
    func post(_ body: String, token: String?, session: String? = nil, headers extra: HTTPFields = [:]) async throws -> MCPReply {
        var headers = Self.headers(token: token, session: session)
        headers[.contentType] = "application/json"
        headers.append(contentsOf: extra)
        return try await mcp.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: body)) {
            MCPReply(status: $0.status, headers: $0.headers, body: $0.body)
        }
    }

    @discardableResult
    func post(_ message: JSONValue, token: String?, session: String? = nil, headers: HTTPFields = [:]) async throws -> MCPReply {
        try await post(String(decoding: try JSONEncoder().encode(message), as: UTF8.self), token: token, session: session, headers: headers)
    }

    @discardableResult
    func delete(token: String?, session: String) async throws -> MCPReply {
        try await mcp.execute(uri: "/mcp", method: .delete, headers: Self.headers(token: token, session: session)) {
            MCPReply(status: $0.status, headers: $0.headers, body: $0.body)
        }
    }

    func get(_ path: String, headers: HTTPFields = [:]) async throws -> MCPReply {
        try await mcp.execute(uri: path, method: .get, headers: headers) { MCPReply(status: $0.status, headers: $0.headers, body: $0.body) }
    }

    static func headers(token: String?, session: String?) -> HTTPFields {
        var headers: HTTPFields = [.accept: "application/json, text/event-stream"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let session {
            headers[.mcpSessionID] = session
            headers[.mcpProtocolVersion] = protocolVersion
        }
        return headers
    }

    // MARK: Messages

    static func initialize(id: Int64 = 1) -> JSONValue {
        request("initialize", id: id, params: [
            "protocolVersion": .string(protocolVersion), "capabilities": [:], "clientInfo": ["name": "todo-mcp-tests", "version": "1"],
        ])
    }

    static let initialized: JSONValue = ["jsonrpc": "2.0", "method": "notifications/initialized"]

    static func request(_ method: String, id: Int64 = 2, params: JSONValue = [:]) -> JSONValue {
        ["jsonrpc": "2.0", "id": .integer(id), "method": .string(method), "params": params]
    }

    static func toolCall(_ name: String, _ arguments: JSONValue, id: Int64 = 3) -> JSONValue {
        request("tools/call", id: id, params: ["name": .string(name), "arguments": arguments])
    }

    // MARK: Sessions

    /// A session of `token` ready for use: `initialize`, then `notifications/initialized`.
    func openSession(token: String) async throws -> String {
        let opened = try await post(Self.initialize(), token: token)
        #expect(opened.status == .ok, "\(opened.text)")
        let session = try #require(opened.sessionID)
        let acknowledged = try await post(Self.initialized, token: token, session: session)
        #expect(acknowledged.status == .accepted, "\(acknowledged.text)")
        return session
    }

    /// Calls a tool in a new session of `token`; the answer must be a JSON-RPC result.
    func callTool(_ name: String, _ arguments: JSONValue, token: String) async throws -> ToolResult {
        let session = try await openSession(token: token)
        let reply = try await post(Self.toolCall(name, arguments), token: token, session: session)
        #expect(reply.status == .ok, "\(reply.text)")
        #expect(reply.error == nil, "a JSON-RPC error instead of a tool result: \(reply.text)")
        return ToolResult(try #require(reply.result, "no result in \(reply.text)"))
    }

    /// A new user's log-in token.
    func signUp() async throws -> String {
        try await backend.signUp()
    }

    /// The first personal API token of the user of `session` (a log-in token) and its id.
    func personalToken(_ session: String) async throws -> (token: String, id: String) {
        let token = try await backend.client.createToken(token: session, name: "mcp client").token
        let id = try #require(try await backend.client.listTokens(token: session).first?.id)
        return (token, id)
    }
}

/// The answer of the MCP server to one HTTP request.
struct MCPReply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    var text: String { String(buffer: body) }
    var sessionID: String? { headers[.mcpSessionID] }

    /// The JSON-RPC messages of the answer: the body itself, or the data of each server-sent event.
    var messages: [JSONValue] {
        let payloads = headers[.contentType]?.hasPrefix("text/event-stream") == true ? Self.eventData(text) : [text]
        return payloads.compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
    }

    var result: JSONValue? { messages.lazy.compactMap { $0["result"] }.first }
    var error: JSONValue? { messages.lazy.compactMap { $0["error"] }.first }

    /// The `data:` payloads of a server-sent event stream.
    static func eventData(_ stream: String) -> [String] {
        stream.components(separatedBy: "\n\n").compactMap { event in
            let data = event.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("data:") }
                .map { String($0.dropFirst(5).drop { $0 == " " }) }
            return data.isEmpty ? nil : data.joined(separator: "\n")
        }
    }
}

/// A `tools/call` result.
struct ToolResult: Sendable {
    let json: JSONValue

    init(_ json: JSONValue) {
        self.json = json
    }

    var isError: Bool { json["isError"] == .bool(true) }
    var structured: JSONValue? { json["structuredContent"] }
    var text: String {
        guard case .array(let content)? = json["content"] else { return "" }
        return content.compactMap { $0["text"]?.string }.joined(separator: "\n")
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? { objectValue?[key] }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

extension HTTPField.Name {
    static let mcpSessionID = Self("Mcp-Session-Id")!
    static let mcpProtocolVersion = Self("MCP-Protocol-Version")!
}
