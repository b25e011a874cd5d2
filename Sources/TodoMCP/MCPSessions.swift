import Foundation
import Logging
import MCP
import TodoCore

/// The MCP sessions of this process. Each session has its own SDK server and Streamable HTTP
/// transport and belongs to the user who initialized it: a request for a session with another
/// user's token is answered as if the session did not exist. A user holds at most
/// `sessionsPerUser` sessions: a new one closes the user's least recently used (see `open`).
actor MCPSessions {
    struct Session {
        var server: Server
        var transport: StatefulHTTPServerTransport
        var userID: UserID
        var lastUsed: ContinuousClock.Instant
    }

    private var sessions: [String: Session] = [:]
    private let tools: TaskTools
    private let idleTimeout: Duration
    private let sessionsPerUser: Int
    private let logger: Logger

    init(tools: TaskTools, idleTimeout: Duration, sessionsPerUser: Int, logger: Logger) {
        self.tools = tools
        self.idleTimeout = idleTimeout
        self.sessionsPerUser = max(1, sessionsPerUser)
        self.logger = logger
    }

    var count: Int { sessions.count }

    /// Hands an HTTP request of `userID` to its session, creating one for `initialize`.
    func handle(_ request: HTTPRequest, userID: UserID) async -> HTTPResponse {
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id], session.userID == userID else {
                return .error(statusCode: 404, .invalidRequest("Not Found: session not found or expired"))
            }
            session.lastUsed = .now
            sessions[id] = session
            let response = await session.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                await close(id)
            }
            return response
        }
        guard request.method.uppercased() == "POST", Self.isInitialize(request.body) else {
            return .error(statusCode: 400, .invalidRequest("Bad Request: missing \(HTTPHeaderName.sessionID) header"))
        }
        return await open(request, userID: userID)
    }

    /// A new session for `userID`. At the user's limit the least recently used session is closed
    /// rather than the new one refused: its client hears 404 on its next request and, as the MCP
    /// specification asks, initializes again, while a refusal would lock out a user whose crashed
    /// or restarted clients left sessions behind until they idle out (an hour by default). A
    /// session counts once its `initialize` is answered: one still being opened is never the one
    /// closed, so a burst of initializations all succeed and the latest `sessionsPerUser` stay.
    private func open(_ request: HTTPRequest, userID: UserID) async -> HTTPResponse {
        let id = UUID().uuidString.lowercased()
        let transport = StatefulHTTPServerTransport(
            sessionIDGenerator: FixedSessionID(id: id),
            validationPipeline: StandardValidationPipeline(validators: [
                AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(), SessionValidator(),
            ]),
            logger: logger)
        let server = await Self.makeServer(tools: tools)
        let session = Session(server: server, transport: transport, userID: userID, lastUsed: .now)
        let response: HTTPResponse
        do {
            try await server.start(transport: transport)
            response = await transport.handleRequest(request)
        } catch {
            await Self.stop(session)
            return .error(statusCode: 500, .internalError("could not open a session"))
        }
        if case .error = response {
            await Self.stop(session)
            return response
        }
        // Counted and registered with no suspension point in between: the actor runs nothing else
        // meanwhile, so concurrent initializations of one user cannot pass the limit together.
        let evicted = removeLeastRecentlyUsed(of: userID, keeping: sessionsPerUser - 1)
        sessions[id] = session
        logger.info("mcp session opened", metadata: ["session": "\(id)", "user_id": "\(userID)"])
        for (oldID, old) in evicted {
            logger.info("mcp session closed for a newer one of its user", metadata: ["session": "\(oldID)", "user_id": "\(userID)"])
            await Self.stop(old)
        }
        return response
    }

    /// Takes the user's least recently used sessions out until `keeping` remain, and returns them.
    private func removeLeastRecentlyUsed(of userID: UserID, keeping: Int) -> [(String, Session)] {
        let own = sessions.filter { $0.value.userID == userID }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        let removed = own.prefix(max(0, own.count - keeping))
        for (id, _) in removed { sessions[id] = nil }
        return removed.map { ($0.key, $0.value) }
    }

    func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await Self.stop(session)
    }

    private static func stop(_ session: Session) async {
        await session.server.stop()
        await session.transport.disconnect()
    }

    func closeAll() async {
        for id in sessions.keys { await close(id) }
    }

    func closeIdle() async {
        let now = ContinuousClock.now
        for (id, session) in sessions where now - session.lastUsed > idleTimeout {
            logger.info("mcp session expired", metadata: ["session": "\(id)"])
            await close(id)
        }
    }

    /// An SDK server offering the task tools; each call uses the bearer token of the HTTP request
    /// that carried it (checked before the request reached the session).
    static func makeServer(tools: TaskTools) async -> Server {
        let server = Server(
            name: "todo", version: BuildInfo.version, title: "Todo",
            instructions: "Tools to manage the user's tasks. Task ids are strings; times are RFC 3339.",
            capabilities: .init(tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: TaskTools.definitions)
        }
        await server.withMethodHandler(CallTool.self) { parameters in
            let request = Server.currentHandlerContext?.httpContext
            guard let token = bearerToken(request?.header(HTTPHeaderName.authorization)) else {
                return CallTool.Result(content: [TaskTools.text("Not authenticated.")], isError: true)
            }
            return await MCPRequestContext.withContext(of: request, tool: parameters.name) {
                await tools.call(parameters.name, arguments: parameters.arguments ?? [:], token: token)
            }
        }
        return server
    }

    static func isInitialize(_ body: Data?) -> Bool {
        guard let body, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return false }
        return object["method"] as? String == "initialize"
    }
}

struct FixedSessionID: SessionIDGenerator {
    let id: String
    func generateSessionID() -> String { id }
}

/// The token of an `Authorization: Bearer <token>` header.
func bearerToken(_ header: String?) -> String? {
    guard let header else { return nil }
    let parts = header.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
    return String(parts[1])
}
