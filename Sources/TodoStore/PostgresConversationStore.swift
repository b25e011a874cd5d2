import PostgresNIO
import TodoCore

/// The assistant's conversations on PostgreSQL.
struct PostgresConversationStore: ConversationStore {
    let database: PostgresDatabase

    func createConversation(_ conversation: Conversation) async throws -> Conversation? {
        let created = try await database.write(
            """
            INSERT INTO conversations (id, user_id, title, created_at, updated_at)
            SELECT \(conversation.id), \(conversation.userID), \(conversation.title), \(conversation.createdAt), \(conversation.updatedAt)
            WHERE EXISTS (SELECT 1 FROM users WHERE id = \(conversation.userID)) RETURNING id
            """,
            PostgresDatabase.hasRows)
        return created ? conversation : nil
    }

    func conversation(id: String, userID: UserID) async throws -> Conversation? {
        try await database.query(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE id = \(id) AND user_id = \(userID)",
            Self.conversations
        ).first
    }

    func conversations(userID: UserID, limit: Int) async throws -> [Conversation] {
        try await database.query(
            """
            SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE user_id = \(userID)
            ORDER BY updated_at DESC, id LIMIT \(Int64(limit))
            """,
            Self.conversations)
    }

    @Sendable private static func conversations(_ rows: PostgresRowSequence) async throws -> [Conversation] {
        var conversations: [Conversation] = []
        for try await (id, userID, title, created, updated) in rows.decode((String, String, String, Timestamp, Timestamp).self) {
            conversations.append(Conversation(id: id, userID: userID, title: title, createdAt: created, updatedAt: updated))
        }
        return conversations
    }

    func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws {
        _ = try await database.transaction { connection, logger in
            for message in messages {
                _ = try await connection.query(
                    """
                    INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at)
                    VALUES (\(conversationID), \(message.role.rawValue), \(message.content), \(message.storedToolCalls), \(message.toolCallID), \(message.createdAt))
                    """,
                    logger: logger)
            }
            _ = try await connection.query("UPDATE conversations SET updated_at = \(time) WHERE id = \(conversationID)", logger: logger)
        }
    }

    func messages(conversationID: String, limit: Int) async throws -> [ChatMessage] {
        try await database.query(
            """
            SELECT role, content, tool_calls, tool_call_id, created_at FROM (
                SELECT * FROM messages WHERE conversation_id = \(conversationID) ORDER BY id DESC LIMIT \(Int64(limit))) AS recent ORDER BY id
            """
        ) { rows in
            var messages: [ChatMessage] = []
            for try await (role, content, calls, callID, created) in rows.decode((String, String, String?, String?, Timestamp).self) {
                messages.append(try ChatMessage(role: role, content: content, storedToolCalls: calls, toolCallID: callID, createdAt: created))
            }
            return messages
        }
    }
}
