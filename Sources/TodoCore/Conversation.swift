import Foundation

/// A chat with the assistant. Conversations and their messages are stored, so any backend
/// replica can continue one, also after a restart.
public struct Conversation: Sendable, Equatable, Codable {
    public var id: String
    public var userID: UserID
    public var title: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: String, userID: UserID, title: String, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.userID = userID
        self.title = title
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, title
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(title, forKey: .title)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        userID = ""
        title = try container.decode(String.self, forKey: .title)
        createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        updatedAt = try container.decode(Timestamp.self, forKey: .updatedAt)
    }
}

/// One message of a conversation, in the shape chat-completion models use: the user's text,
/// the assistant's text and tool calls, or the result of one tool call.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable {
        case user, assistant, tool
    }

    public var role: Role
    public var content: String
    /// The tools the assistant asked for (assistant messages).
    public var toolCalls: [ToolCall]
    /// The call this message answers (tool messages).
    public var toolCallID: String?
    public var createdAt: Timestamp

    public init(role: Role, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil, createdAt: Timestamp) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case role, content
        case toolCalls = "tool_calls", toolCallID = "tool_call_id", createdAt = "created_at"
    }
}

/// A tool the assistant called, with what it got back.
public struct ToolCall: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var arguments: JSONValue
    /// The tool's structured result (or its text), once it ran.
    public var result: JSONValue?
    public var isError: Bool
    /// The assistant held this call for the user's confirmation instead of running it: it runs
    /// only if the user's next message confirms it (a call that deletes, or one of several changes).
    public var needsConfirmation: Bool

    public init(id: String, name: String, arguments: JSONValue, result: JSONValue? = nil, isError: Bool = false,
                needsConfirmation: Bool = false) {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.result = result
        self.isError = isError
        self.needsConfirmation = needsConfirmation
    }

    enum CodingKeys: String, CodingKey {
        case id, name, arguments, result
        case isError = "is_error", needsConfirmation = "needs_confirmation"
    }

    /// Messages stored before confirmations existed have no `needs_confirmation`; it is written only
    /// when true, so clients that do not know it see the calls that ran as before.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        arguments = try container.decode(JSONValue.self, forKey: .arguments)
        result = try container.decodeIfPresent(JSONValue.self, forKey: .result)
        isError = try container.decode(Bool.self, forKey: .isError)
        needsConfirmation = try container.decodeIfPresent(Bool.self, forKey: .needsConfirmation) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(arguments, forKey: .arguments)
        try container.encode(result, forKey: .result)  // null for a call that has not run
        try container.encode(isError, forKey: .isError)
        if needsConfirmation { try container.encode(true, forKey: .needsConfirmation) }
    }
}

public enum ChatLimits {
    public static let messageLength = 1...4000
    /// Messages of a conversation replayed to the model.
    public static let historyMessages = 40

    /// A user's message, trimmed: 1–4000 characters, line breaks and tabs but no other control
    /// characters (NUL cannot be stored in PostgreSQL; the others are never intended).
    public static func message(_ raw: String) throws(ValidationError) -> String {
        let message = TextRules.trimmed(raw)
        guard messageLength.contains(message.count), !TextRules.hasForbiddenControl(message, allowingLineBreaks: true) else {
            throw ValidationError(field: "message", "must be 1 to \(messageLength.upperBound) characters without control characters other than line breaks and tabs")
        }
        return message
    }

    /// Conversation ids are lowercase UUIDs; anything else names no conversation, so it is
    /// answered without a database query (and never reaches the database as text it cannot hold).
    public static func isConversationID(_ text: String) -> Bool {
        UUID(uuidString: text) != nil && text == text.lowercased()
    }
}
