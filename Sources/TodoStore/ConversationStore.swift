import Foundation
import TodoCore

/// The assistant's conversations and their messages.
public protocol ConversationStore: Sendable {
    /// Stores a new conversation unless the user already has `limit` (then `QuotaReached`);
    /// nil when the user does not exist. Concurrent calls for one user are counted one at a time,
    /// so a burst of them cannot pass the limit together.
    func createConversation(_ conversation: Conversation, limit: Int) async throws -> Conversation?
    func conversation(id: String, userID: UserID) async throws -> Conversation?
    /// The user's conversations, most recently active first.
    func conversations(userID: UserID, limit: Int) async throws -> [Conversation]
    /// Appends the user's `message` unless the conversation already holds `limit` messages from the
    /// user (then `QuotaReached`), and marks the conversation active at the message's time.
    /// Concurrent calls for one conversation are counted one at a time.
    func appendUserMessage(_ message: ChatMessage, conversationID: String, limit: Int) async throws
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
