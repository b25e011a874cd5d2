import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TodoCore

/// Calls the MCP server's tools over Streamable HTTP, as the user (their bearer token).
///
/// A small JSON-RPC client on AsyncHTTPClient rather than the SDK's client transport: that one
/// runs on URLSession, which on Linux needs libcurl and buffers server-sent events. The server
/// side of the protocol is the official SDK's.
public final class MCPToolClient: ToolRunner, @unchecked Sendable {
    private let url: String
    private let token: String
    private let http: HTTPClient
    private let timeout: TimeAmount
    // Mutated only in the serial flow of one chat request.
    private var sessionID: String?
    private var protocolVersion = "2025-11-25"
    private var nextID = 1

    public init(url: String, token: String, http: HTTPClient = .shared, timeout: Duration = .seconds(30)) {
        self.url = url
        self.token = token
        self.http = http
        self.timeout = .seconds(timeout.components.seconds)
    }

    public struct ProtocolError: Error, CustomStringConvertible {
        public var description: String
    }

    public func tools() async throws -> [ToolSpec] {
        try await ensureSession()
        let result = try await request("tools/list", params: .object([:]))
        guard case .array(let tools)? = result.objectValue?["tools"] else { throw ProtocolError(description: "tools/list gave no tools") }
        return tools.compactMap { tool in
            guard let fields = tool.objectValue, case .string(let name)? = fields["name"] else { return nil }
            var description = ""
            if case .string(let text)? = fields["description"] { description = text }
            return ToolSpec(name: name, description: description, parameters: fields["inputSchema"] ?? .object(["type": .string("object")]))
        }
    }

    public func call(_ name: String, arguments: JSONValue) async throws -> ToolOutcome {
        try await ensureSession()
        let result = try await request("tools/call", params: .object(["name": .string(name), "arguments": arguments]))
        let fields = result.objectValue ?? [:]
        var texts: [String] = []
        if case .array(let content)? = fields["content"] {
            for item in content { if case .string(let text)? = item.objectValue?["text"] { texts.append(text) } }
        }
        return ToolOutcome(text: texts.joined(separator: "\n"), structured: fields["structuredContent"], isError: fields["isError"] == .bool(true))
    }

    public func close() async {
        guard let sessionID else { return }
        var request = HTTPClientRequest(url: url)
        request.method = .DELETE
        request.headers = headers(session: sessionID)
        _ = try? await http.execute(request, timeout: .seconds(5))
        self.sessionID = nil
    }

    private func ensureSession() async throws {
        guard sessionID == nil else { return }
        let result = try await request("initialize", params: .object([
            "protocolVersion": .string(protocolVersion),
            "capabilities": .object([:]),
            "clientInfo": .object(["name": .string("todo-assistant"), "version": .string(BuildInfo.version)]),
        ]))
        if case .string(let version)? = result.objectValue?["protocolVersion"] { protocolVersion = version }
        try await notify("notifications/initialized")
    }

    private func headers(session: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "Accept", value: "application/json, text/event-stream")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "MCP-Protocol-Version", value: protocolVersion)
        if let session { headers.add(name: "Mcp-Session-Id", value: session) }
        return headers
    }

    private func post(_ message: JSONValue) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers(session: sessionID)
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(message)))
        return try await http.execute(request, timeout: timeout)
    }

    private func notify(_ method: String) async throws {
        let response = try await post(.object(["jsonrpc": .string("2.0"), "method": .string(method)]))
        _ = try await response.body.collect(upTo: 1 << 20)
    }

    /// Sends a request and returns its `result`, reading a JSON or an SSE answer.
    private func request(_ method: String, params: JSONValue) async throws -> JSONValue {
        let id = nextID
        nextID += 1
        let response = try await post(.object([
            "jsonrpc": .string("2.0"), "id": .integer(Int64(id)), "method": .string(method), "params": params,
        ]))
        if let session = response.headers.first(name: "Mcp-Session-Id") { sessionID = session }
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else {
            throw ProtocolError(description: "the MCP server answered \(response.status.code) to \(method): \(String(buffer: body).prefix(200))")
        }
        let isStream = response.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") ?? false
        let payloads = isStream ? Self.eventData(String(buffer: body)) : [String(buffer: body)]
        for payload in payloads {
            guard let message = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)).objectValue,
                  message["id"] == .integer(Int64(id))
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
