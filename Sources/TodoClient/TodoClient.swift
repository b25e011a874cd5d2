import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TodoCore

/// A typed client of the backend API, used by the web UI and the MCP server: they reach data
/// only through the API, exactly as they do in the cluster. Every call acts as the user whose
/// bearer token it carries.
public struct TodoClient: Sendable {
    public let baseURL: String
    private let http: HTTPClient
    private let timeout: TimeAmount
    private static let decoder = JSONDecoder()
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `baseURL` like `http://127.0.0.1:8000` (no trailing slash needed).
    public init(baseURL: String, http: HTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = http
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
    }

    // MARK: Types of the wire format

    public struct Session: Sendable, Decodable {
        public var token: String
        public var expiresAt: Timestamp
        public var user: User

        enum CodingKeys: String, CodingKey {
            case token, user
            case expiresAt = "expires_at"
        }
    }

    public struct Page: Sendable, Decodable {
        public var items: [TodoTask]
        public var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case items
            case nextCursor = "next_cursor"
        }
    }

    public struct CreatedToken: Sendable, Decodable {
        public var id: String
        public var name: String
        public var token: String
    }

    // MARK: Accounts

    public func signUp(email: String, password: String, name: String? = nil) async throws -> Session {
        var body: [String: JSONValue] = ["email": .string(email), "password": .string(password)]
        if let name { body["name"] = .string(name) }
        return try await send(.POST, "/api/auth/signup", body: .object(body))
    }

    public func logIn(email: String, password: String) async throws -> Session {
        try await send(.POST, "/api/auth/login", body: .object(["email": .string(email), "password": .string(password)]))
    }

    public func me(token: String) async throws -> User {
        try await send(.GET, "/api/auth/me", token: token)
    }

    // MARK: Tasks

    /// One page of the caller's tasks; `parameters` are the list query parameters
    /// (`status`, `priority`, `tag`, `q`, `sort`, `limit`, `cursor`, ...).
    public func listTasks(token: String, parameters: [(String, String)] = []) async throws -> Page {
        try await send(.GET, "/api/me/tasks" + Self.query(parameters), token: token)
    }

    public func task(token: String, id: TaskID) async throws -> TodoTask {
        try await send(.GET, "/api/me/tasks/\(id)", token: token)
    }

    /// Creates a task from writable fields (`title`, `priority`, `tags`, `due_at`, ...).
    public func createTask(token: String, fields: [String: JSONValue]) async throws -> TodoTask {
        try await send(.POST, "/api/me/tasks", token: token, body: .object(fields))
    }

    /// Changes only the given fields.
    public func updateTask(token: String, id: TaskID, fields: [String: JSONValue]) async throws -> TodoTask {
        try await send(.PATCH, "/api/me/tasks/\(id)", token: token, body: .object(fields))
    }

    /// Marks complete or incomplete; `nil` toggles.
    public func completeTask(token: String, id: TaskID, completed: Bool? = true) async throws -> TodoTask {
        try await send(.PATCH, "/api/me/tasks/\(id)/complete", token: token, body: completed.map { .object(["completed": .bool($0)]) })
    }

    public func deleteTask(token: String, id: TaskID) async throws {
        let _: Empty = try await send(.DELETE, "/api/me/tasks/\(id)", token: token)
    }

    // MARK: Health

    /// Whether the backend answers `/readyz` with 200.
    public func isReady() async -> Bool {
        var request = HTTPClientRequest(url: baseURL + "/readyz")
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: .seconds(2)) else { return false }
        return response.status == .ok
    }

    // MARK: Transport

    struct Empty: Decodable {}

    /// Sends a request and decodes the answer, or throws the API's error.
    func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, token: String? = nil, body: JSONValue? = nil
    ) async throws -> Response {
        try await exchange(method, path, token: token, body: body).0
    }

    static func problem(in bytes: ByteBuffer) -> APIProblem {
        struct Envelope: Decodable { var error: APIProblem }
        return (try? decoder.decode(Envelope.self, from: Data(bytes.readableBytesView)).error)
            ?? APIProblem(code: "unknown", message: String(buffer: bytes).prefix(200).description, details: nil)
    }

    static func query(_ parameters: [(String, String)]) -> String {
        guard !parameters.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?" + parameters.map { name, value in
            (name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
    }
}

/// The `error` object of an API error response.
public struct APIProblem: Sendable, Decodable, Equatable {
    public var code: String
    public var message: String
    public var details: [FieldIssue]?
}

public enum TodoClientError: Error, Sendable, CustomStringConvertible {
    /// The API answered with an error status.
    case api(status: Int, APIProblem)
    /// The backend could not be reached (down, timed out).
    case unreachable(String)
    /// The backend answered something that is not the documented format.
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case .api(let status, let problem): "\(status) \(problem.code): \(problem.message)"
        case .unreachable(let reason): "the backend is unreachable: \(reason)"
        case .unexpectedResponse(let reason): "unexpected answer from the backend: \(reason)"
        }
    }
}

// MARK: - Personal tokens, import/export, chat and proxying (used by the web UI)

extension TodoClient {
    /// A personal API token as listed (the secret itself is shown only once, at creation).
    public struct TokenSummary: Sendable, Decodable {
        public var id: String
        public var name: String
        public var createdAt: Timestamp
        public var expiresAt: Timestamp?
        public var lastUsedAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case id, name
            case createdAt = "created_at", expiresAt = "expires_at", lastUsedAt = "last_used_at"
        }
    }

    /// The assistant's answer to one chat message.
    public struct ChatReply: Sendable, Decodable {
        public var conversationID: String
        public var response: String
        public var toolCalls: [JSONValue]

        enum CodingKeys: String, CodingKey {
            case response
            case conversationID = "conversation_id", toolCalls = "tool_calls"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let text = try? container.decode(String.self, forKey: .conversationID) {
                conversationID = text
            } else {
                conversationID = String(try container.decode(Int64.self, forKey: .conversationID))
            }
            response = try container.decode(String.self, forKey: .response)
            toolCalls = try container.decodeIfPresent([JSONValue].self, forKey: .toolCalls) ?? []
        }
    }

    struct TokenList: Decodable {
        var items: [TokenSummary]
    }

    struct Imported: Decodable {
        var imported: Int
    }

    /// Personal API tokens need a log-in session token, not a personal token.
    public func listTokens(token: String) async throws -> [TokenSummary] {
        let list: TokenList = try await send(.GET, "/api/tokens", token: token)
        return list.items
    }

    public func createToken(token: String, name: String, expiresAt: Timestamp? = nil) async throws -> CreatedToken {
        var body: [String: JSONValue] = ["name": .string(name)]
        if let expiresAt { body["expires_at"] = .string(expiresAt.rfc3339) }
        return try await send(.POST, "/api/tokens", token: token, body: .object(body))
    }

    public func revokeToken(token: String, id: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/tokens/\(Self.pathSegment(id))", token: token)
    }

    /// The caller's tasks as a `todo-export` document.
    public func exportTasks(token: String) async throws -> JSONValue {
        try await send(.GET, "/api/me/export", token: token)
    }

    /// Adds the tasks of a `todo-export` document; returns how many.
    public func importTasks(token: String, document: JSONValue) async throws -> Int {
        let result: Imported = try await send(.POST, "/api/me/import", token: token, body: document)
        return result.imported
    }

    /// Sends one message to the assistant; `conversationID` continues a conversation.
    /// `timeZone` (IANA) is the user's, for relative dates in requests and answers.
    public func chat(token: String, message: String, conversationID: String? = nil, timeZone: String? = nil) async throws -> ChatReply {
        var body: [String: JSONValue] = ["message": .string(message)]
        if let timeZone { body["time_zone"] = .string(timeZone) }
        if let conversationID { body["conversation_id"] = .string(conversationID) }
        return try await send(.POST, "/api/me/chat", token: token, body: .object(body))
    }

    /// Whether the backend process answers at all (`/healthz` with 200), whatever the state
    /// of its database.
    public func isReachable(timeout: Duration = .seconds(2)) async -> Bool {
        var request = HTTPClientRequest(url: baseURL + "/healthz")
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: Self.timeAmount(timeout)) else { return false }
        _ = try? await response.body.collect(upTo: 64 << 10)
        return response.status == .ok
    }

    /// Sends a request as it came (for a reverse proxy) and returns the answer unread, so that
    /// streams such as Server-Sent Events pass through as they arrive. `timeout` bounds the wait
    /// for the response head only. Throws `TodoClientError.unreachable` when there is no answer.
    public func forward(
        method: String, path: String, headers: [(String, String)], body: ByteBuffer?, timeout: Duration
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        do {
            return try await http.execute(request, timeout: Self.timeAmount(timeout))
        } catch {
            throw TodoClientError.unreachable(String(describing: error))
        }
    }

    /// Log-in on behalf of a browser: `forwardedFor` is the `X-Forwarded-For` chain of its
    /// request, so that the backend can tell clients apart behind the web server.
    public func logIn(email: String, password: String, forwardedFor: String?) async throws -> Session {
        try await exchange(.POST, "/api/auth/login", body: .object(["email": .string(email), "password": .string(password)]),
                           headers: forwardedFor.map { [("X-Forwarded-For", $0)] } ?? []).0
    }

    /// Sign-up on behalf of a browser (see `logIn(email:password:forwardedFor:)`).
    public func signUp(email: String, password: String, name: String?, forwardedFor: String?) async throws -> Session {
        var body: [String: JSONValue] = ["email": .string(email), "password": .string(password)]
        if let name { body["name"] = .string(name) }
        return try await exchange(.POST, "/api/auth/signup", body: .object(body), headers: forwardedFor.map { [("X-Forwarded-For", $0)] } ?? []).0
    }

    /// A task and its `ETag`, to send back as `If-Match` with a change (see `updateTask(token:id:fields:ifMatch:)`).
    public func taskAndETag(token: String, id: TaskID) async throws -> (task: TodoTask, etag: String?) {
        let (task, headers): (TodoTask, HTTPHeaders) = try await exchange(.GET, "/api/me/tasks/\(id)", token: token)
        return (task, headers.first(name: "ETag"))
    }

    /// Changes only the given fields, unless the task changed since `ifMatch` was read: then the
    /// backend answers 412 (`TodoClientError.api(status: 412, ...)`) and nothing is lost.
    public func updateTask(token: String, id: TaskID, fields: [String: JSONValue], ifMatch: String?) async throws -> TodoTask {
        let (task, _): (TodoTask, HTTPHeaders) = try await exchange(
            .PATCH, "/api/me/tasks/\(id)", token: token, body: .object(fields), headers: ifMatch.map { [("If-Match", $0)] } ?? [])
        return task
    }

    /// Sends a request with extra headers; returns the decoded answer and the response headers.
    func exchange<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, token: String? = nil, body: JSONValue? = nil, headers: [(String, String)] = []
    ) async throws -> (Response, HTTPHeaders) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try Self.encoder.encode(body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw TodoClientError.unreachable(String(describing: error))
        }
        let bytes = try await response.body.collect(upTo: 32 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw TodoClientError.api(status: Int(response.status.code), Self.problem(in: bytes))
        }
        if Response.self == Empty.self { return (Empty() as! Response, response.headers) }
        do {
            return (try Self.decoder.decode(Response.self, from: Data(bytes.readableBytesView)), response.headers)
        } catch {
            throw TodoClientError.unexpectedResponse(String(describing: error))
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
