import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import TodoAssistant
import TodoCore
import TodoStore

/// How the backend's assistant reaches its tools and its model.
public struct AssistantConfiguration: Sendable {
    /// The MCP server the agent calls tools through, with the user's token.
    public var mcpURL = "http://127.0.0.1:8001/mcp"
    /// An OpenAI-compatible provider; nil uses the built-in offline agent.
    public var provider: OpenAICompatibleModel.Configuration?
    public var maxSteps = 6
    /// A turn is cancelled at this deadline, whatever it is waiting for (`CHAT_TIME_LIMIT_SECONDS`).
    public var timeLimit: Duration = .seconds(90)
    /// Chat messages per user a minute, counted by every replica together (`CHAT_RATE_LIMIT`).
    public var rateLimit = 20
    /// Conversations per user (`CHAT_CONVERSATION_LIMIT`).
    public var conversationLimit = 1000
    /// The user's messages in one conversation (`CHAT_MESSAGE_LIMIT`).
    public var messageLimit = 10_000

    public init() {}
}

/// `POST /api/{user_id}/chat` and the stored conversations. Stateless between requests: the
/// history is read from the database each time, so any replica can continue a conversation.
struct ChatController<Context: AppRequestContext>: Sendable {
    let conversations: any ConversationStore
    let body: JSONBody
    let configuration: AssistantConfiguration
    let http: HTTPClient
    /// The MCP sessions of the users' tokens, reused from one message to the next.
    let mcpSessions: MCPSessionPool
    /// `configuration.rateLimit` per user a minute: each message can cost a paid model several calls.
    let rate: AttemptLimit
    let logger: Logger

    init(conversations: any ConversationStore, attempts: any AttemptStore, body: JSONBody, configuration: AssistantConfiguration,
         http: HTTPClient, logger: Logger) {
        self.conversations = conversations
        self.body = body
        self.configuration = configuration
        self.http = http
        self.mcpSessions = MCPSessionPool()
        self.rate = AttemptLimit(attempts: attempts, name: "chat.user", limit: configuration.rateLimit, window: .seconds(60))
        self.logger = logger
    }

    struct Answer: ResponseEncodable {
        var conversationID: String
        var response: String
        var toolCalls: [ToolCall]

        enum CodingKeys: String, CodingKey {
            case response
            case conversationID = "conversation_id", toolCalls = "tool_calls"
        }
    }

    struct Conversations: ResponseEncodable {
        var items: [Conversation]
    }

    struct Messages: ResponseEncodable {
        var items: [ChatMessage]
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("chat", use: chat)
        group.get("conversations", use: conversations)
        group.get("conversations/:conversation_id/messages", use: messages)
    }

    var model: any ChatModel {
        configuration.provider.map { OpenAICompatibleModel(configuration: $0, http: http, logger: logger) } ?? OfflineChatModel()
    }

    @Sendable func chat(_ request: Request, context: Context) async throws -> Answer {
        let userID = try context.requireUser()
        let fields = try Fields(try await body.require(request).object(), allowed: ["conversation_id", "message", "time_zone"])
        let message = try ChatLimits.message(try fields.string("message"))
        let timeZone = try fields.optionalString("time_zone").map { name in
            guard let zone = TimeZone(identifier: name) else { throw ValidationError(field: "time_zone", "must be an IANA time zone such as Europe/Berlin") }
            return zone
        } ?? TimeZone(identifier: "UTC")!
        if let wait = try await rate.admit(userID) {
            throw APIError.tooManyRequests(wait, code: "too_many_requests", "too many chat messages; try again in \(wait) s")
        }
        let conversation = try await conversation(try fields.optionalString("conversation_id"), userID: userID, firstMessage: message)
        let history = try await conversations.messages(conversationID: conversation.id, limit: ChatLimits.historyMessages)
        // The user's message is stored first, within the conversation's quota: a turn runs only once admitted.
        let asked = ChatMessage(role: .user, content: message, createdAt: .now())
        try await conversations.appendUserMessage(asked, conversationID: conversation.id, limit: configuration.messageLimit)
        let tools = MCPToolClient(url: configuration.mcpURL, token: try context.requireToken(), sessions: mcpSessions, http: http)
        let agent = Agent(model: model, maxSteps: configuration.maxSteps, timeLimit: configuration.timeLimit, logger: context.logger)
        let turn = await agent.respond(
            to: message, history: Array(history.drop { $0.role != .user }), tools: tools,
            context: ModelContext(now: asked.createdAt, timeZone: timeZone))
        try await conversations.appendMessages(turn.replies, conversationID: conversation.id, at: .now())
        return Answer(conversationID: conversation.id, response: turn.response, toolCalls: turn.toolCalls)
    }

    private func conversation(_ id: String?, userID: UserID, firstMessage: String) async throws -> Conversation {
        if let id {
            guard ChatLimits.isConversationID(id), let existing = try await conversations.conversation(id: id, userID: userID) else {
                throw APIError(.notFound, code: "not_found", message: "no such conversation")
            }
            return existing
        }
        let now = Timestamp.now()
        let title = firstMessage.count > 60 ? String(firstMessage.prefix(59)) + "…" : firstMessage
        let conversation = Conversation(id: UUID().uuidString.lowercased(), userID: userID, title: title, createdAt: now, updatedAt: now)
        guard let created = try await conversations.createConversation(conversation, limit: configuration.conversationLimit) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return created
    }

    @Sendable func conversations(_ request: Request, context: Context) async throws -> Conversations {
        Conversations(items: try await conversations.conversations(userID: try context.requireUser(), limit: 100))
    }

    @Sendable func messages(_ request: Request, context: Context) async throws -> Messages {
        let userID = try context.requireUser()
        guard let id = context.parameters.get("conversation_id"), ChatLimits.isConversationID(id),
              try await conversations.conversation(id: id, userID: userID) != nil else {
            throw APIError(.notFound, code: "not_found", message: "no such conversation")
        }
        return Messages(items: try await conversations.messages(conversationID: id, limit: 500))
    }
}

