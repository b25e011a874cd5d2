import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TodoCore
import TodoTracing

/// Runs the task tools on the MCP server over Streamable HTTP, as the user (their bearer token).
/// The tools offered to the model are the shared catalogue (`TaskTool`), the same the server
/// serves, so no `tools/list` is needed; the session of a token is kept in `sessions` and reused
/// by the next chat message, so a tool call is one HTTP exchange, not a handshake each time.
///
/// A small JSON-RPC client on AsyncHTTPClient rather than the SDK's client transport: that one
/// runs on URLSession, which on Linux needs libcurl and buffers server-sent events. The server
/// side of the protocol is the official SDK's.
public struct MCPToolClient: ToolRunner {
    private let url: String
    private let token: String
    private let http: HTTPClient
    private let sessions: MCPSessionPool
    private let timeout: TimeAmount

    public init(url: String, token: String, sessions: MCPSessionPool, http: HTTPClient = .shared, timeout: Duration = .seconds(30)) {
        self.url = url
        self.token = token
        self.sessions = sessions
        self.http = http
        self.timeout = .seconds(timeout.components.seconds)
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public var description: String
    }

    public func tools() async throws -> [ToolSpec] {
        TaskTool.allCases.map { ToolSpec(name: $0.name, description: $0.description, parameters: $0.inputSchema) }
    }

    public func call(_ name: String, arguments: JSONValue) async throws -> ToolOutcome {
        let params: JSONValue = ["name": .string(name), "arguments": arguments]
        var session = try await openSession()
        let result: JSONValue
        do {
            result = try await request("tools/call", params: params, in: session)
        } catch let error as SessionGone {
            // Expired, or held by another replica of the MCP server: start again once.
            sessions.forget(error.session, for: token)
            session = try await openSession()
            result = try await request("tools/call", params: params, in: session)
        }
        let fields = result.objectValue ?? [:]
        var texts: [String] = []
        if case .array(let content)? = fields["content"] {
            for item in content { if case .string(let text)? = item.objectValue?["text"] { texts.append(text) } }
        }
        return ToolOutcome(text: texts.joined(separator: "\n"), structured: fields["structuredContent"], isError: fields["isError"] == .bool(true))
    }

    /// The token's open session, or a new one (`initialize`, then `notifications/initialized`).
    private func openSession() async throws -> MCPSession {
        if let open = sessions.session(for: token) { return open }
        let opening = MCPSession(id: nil, protocolVersion: MCPSession.latestProtocolVersion)
        let result = try await request("initialize", params: [
            "protocolVersion": .string(opening.protocolVersion),
            "capabilities": [:],
            "clientInfo": ["name": "todo-assistant", "version": .string(BuildInfo.version)],
        ], in: opening)
        guard let id = opening.id else { throw ProtocolError(description: "the MCP server opened no session") }
        var version = opening.protocolVersion
        if case .string(let agreed)? = result.objectValue?["protocolVersion"] { version = agreed }
        let session = MCPSession(id: id, protocolVersion: version)
        let response = try await post(["jsonrpc": "2.0", "method": "notifications/initialized"], in: session)
        _ = try await response.body.collect(upTo: 1 << 20)
        sessions.keep(session, for: token)
        return session
    }

    private func headers(_ session: MCPSession) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "Accept", value: "application/json, text/event-stream")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "MCP-Protocol-Version", value: session.protocolVersion)
        if let id = session.id { headers.add(name: "Mcp-Session-Id", value: id) }
        headers.addRequestID()
        return headers
    }

    private func post(_ message: JSONValue, in session: MCPSession) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers(session)
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(message)))
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw ToolsUnavailable()
        }
    }

    /// The session the server no longer knows (it answered 404 to its id).
    private struct SessionGone: Error {
        var session: MCPSession
    }

    /// Sends a request and returns its `result`, reading a JSON or an SSE answer. A new
    /// session's id is taken from the answer to `initialize`.
    private func request(_ method: String, params: JSONValue, in session: MCPSession) async throws -> JSONValue {
        let id = session.nextRequestID()
        let response = try await post(["jsonrpc": "2.0", "id": .integer(id), "method": .string(method), "params": params], in: session)
        if session.id == nil, let assigned = response.headers.first(name: "Mcp-Session-Id") { session.id = assigned }
        let body = try await response.body.collect(upTo: 16 << 20)
        if response.status == .notFound, session.id != nil, method != "initialize" { throw SessionGone(session: session) }
        guard response.status == .ok else {
            throw ProtocolError(description: "the MCP server answered \(response.status.code) to \(method): \(String(buffer: body).prefix(200))")
        }
        let isStream = response.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") ?? false
        let payloads = isStream ? Self.eventData(String(buffer: body)) : [String(buffer: body)]
        for payload in payloads {
            guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)).objectValue,
                  message["id"] == .integer(id)
            else { continue }
            if let error = message["error"]?.objectValue {
                var text = "error"
                if case .string(let message)? = error["message"] { text = message }
                throw ProtocolError(description: "\(method) failed: \(text)")
            }
            return message["result"] ?? .null
        }
        throw ProtocolError(description: "no answer to \(method)")
    }

    /// The `data:` payloads of a server-sent event stream.
    static func eventData(_ stream: String) -> [String] {
        var payloads: [String] = []
        var current: [String] = []
        // "\r\n" is one Character in Swift, and a newline like "\n" and "\r".
        for line in stream.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.isEmpty {
                if !current.isEmpty { payloads.append(current.joined(separator: "\n")) }
                current = []
            } else if line.hasPrefix("data:") {
                current.append(String(line.dropFirst(5).drop { $0 == " " }))
            }
        }
        if !current.isEmpty { payloads.append(current.joined(separator: "\n")) }
        return payloads
    }
}

/// An MCP session: its id, the protocol version agreed, and the next JSON-RPC request id (a
/// session may serve two chat messages of one user at once).
public final class MCPSession: Sendable {
    static let latestProtocolVersion = "2025-11-25"

    private let state: Mutex<(id: String?, nextRequestID: Int64)>
    let protocolVersion: String

    init(id: String?, protocolVersion: String) {
        state = Mutex((id, 1))
        self.protocolVersion = protocolVersion
    }

    var id: String? {
        get { state.withLock { $0.id } }
        set { state.withLock { $0.id = newValue } }
    }

    func nextRequestID() -> Int64 {
        state.withLock { state in
            defer { state.nextRequestID += 1 }
            return state.nextRequestID
        }
    }
}

/// The open MCP sessions of this process, one per bearer token, kept for
/// `idleTime` after their last use and at most `capacity` of them. The MCP server closes a
/// session itself after its own idle time; a call then starts a new one (`MCPToolClient.call`).
public final class MCPSessionPool: Sendable {
    private let sessions = Mutex<[String: (session: MCPSession, lastUsed: ContinuousClock.Instant)]>([:])
    private let idleTime: Duration
    private let capacity: Int

    public init(idleTime: Duration = .seconds(600), capacity: Int = 1000) {
        self.idleTime = idleTime
        self.capacity = capacity
    }

    func session(for token: String) -> MCPSession? {
        let key = token, now = ContinuousClock.now
        return sessions.withLock { sessions in
            guard let entry = sessions[key], now - entry.lastUsed < idleTime else {
                sessions[key] = nil
                return nil
            }
            sessions[key]?.lastUsed = now
            return entry.session
        }
    }

    func keep(_ session: MCPSession, for token: String) {
        let key = token, now = ContinuousClock.now
        sessions.withLock { sessions in
            if sessions.count >= capacity { sessions = sessions.filter { now - $0.value.lastUsed < idleTime } }
            if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                sessions[oldest] = nil
            }
            sessions[key] = (session, now)
        }
    }

    func forget(_ session: MCPSession, for token: String) {
        let key = token
        sessions.withLock { sessions in
            if sessions[key]?.session === session { sessions[key] = nil }
        }
    }
}
