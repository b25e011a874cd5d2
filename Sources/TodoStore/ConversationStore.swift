import Foundation
import TodoCore

/// The assistant's conversations and their messages.
public protocol ConversationStore: Sendable {
    /// Stores a new conversation; nil when the user does not exist.
    func createConversation(_ conversation: Conversation) async throws -> Conversation?
    func conversation(id: String, userID: UserID) async throws -> Conversation?
    /// The user's conversations, most recently active first.
    func conversations(userID: UserID, limit: Int) async throws -> [Conversation]
    /// Appends messages (in order) and marks the conversation active at `time`.
    func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws
    /// The last `limit` messages of a conversation, oldest first.
    func messages(conversationID: String, limit: Int) async throws -> [ChatMessage]
}

extension ChatMessage {
    /// The tool calls as stored: JSON, or nil for none.
    var storedToolCalls: String? {
        guard !toolCalls.isEmpty, let data = try? JSONEncoder().encode(toolCalls) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    init(role: String, content: String, storedToolCalls: String?, toolCallID: String?, createdAt: Timestamp) throws {
        guard let role = Role(rawValue: role) else { throw StoreError.invalid("unknown message role \(role)") }
        let calls = try storedToolCalls.map { try JSONDecoder().decode([ToolCall].self, from: Data($0.utf8)) } ?? []
        self.init(role: role, content: content, toolCalls: calls, toolCallID: toolCallID, createdAt: createdAt)
    }
}
