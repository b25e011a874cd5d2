import Logging
import PostgresNIO
import TodoCore

/// The assistant's conversations on PostgreSQL.
struct PostgresConversationStore: ConversationStore {
    let database: PostgresDatabase

    /// Locks the user's row against other conversation creations first (not against task writes: a
    /// foreign key takes a weaker lock), so the count that follows, a statement of its own and so with
    /// a snapshot taken after the lock, sees every conversation committed before.
    func createConversation(_ conversation: Conversation, limit: Int) async throws -> Conversation? {
        let outcome = try await database.transaction { connection, logger -> Admission in
            let user = try await connection.query("SELECT 1 FROM users WHERE id = \(conversation.userID) FOR NO KEY UPDATE", logger: logger)
            guard try await PostgresDatabase.hasRows(user) else { return .missing }
            let count = try await Self.count("SELECT count(*) FROM conversations WHERE user_id = \(conversation.userID)", on: connection, logger)
            guard count < limit else { return .full }
            _ = try await connection.query(
                """
                INSERT INTO conversations (id, user_id, title, created_at, updated_at)
                VALUES (\(conversation.id), \(conversation.userID), \(conversation.title), \(conversation.createdAt), \(conversation.updatedAt))
                """,
                logger: logger)
            return .admitted
        }
        switch outcome {
        case .admitted?: return conversation
        case .full?: throw QuotaReached(.conversations, limit: limit)
        case .missing?, nil: return nil
        }
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

    /// Locks the conversation's row first, as `createConversation` locks the user's.
    func appendUserMessage(_ message: ChatMessage, conversationID: String, limit: Int) async throws {
        let outcome = try await database.transaction { connection, logger -> Admission in
            let conversation = try await connection.query("SELECT 1 FROM conversations WHERE id = \(conversationID) FOR NO KEY UPDATE", logger: logger)
            guard try await PostgresDatabase.hasRows(conversation) else { return .missing }
            let count = try await Self.count(
                "SELECT count(*) FROM messages WHERE conversation_id = \(conversationID) AND role = 'user'", on: connection, logger)
            guard count < limit else { return .full }
            try await Self.insert(message, conversationID: conversationID, on: connection, logger)
            _ = try await connection.query("UPDATE conversations SET updated_at = \(message.createdAt) WHERE id = \(conversationID)", logger: logger)
            return .admitted
        }
        if outcome == .full { throw QuotaReached(.messages, limit: limit) }
    }

    func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws {
        _ = try await database.transaction { connection, logger in
            for message in messages {
                try await Self.insert(message, conversationID: conversationID, on: connection, logger)
            }
            _ = try await connection.query("UPDATE conversations SET updated_at = \(time) WHERE id = \(conversationID)", logger: logger)
        }
    }

    /// What became of a write that a quota bounds.
    private enum Admission: Sendable {
        case admitted, full, missing
    }

    private static func insert(_ message: ChatMessage, conversationID: String, on connection: PostgresConnection, _ logger: Logger) async throws {
        _ = try await connection.query(
            """
            INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at)
            VALUES (\(conversationID), \(message.role.rawValue), \(message.content), \(message.storedToolCalls), \(message.toolCallID), \(message.createdAt))
            """,
            logger: logger)
    }

    private static func count(_ statement: PostgresQuery, on connection: PostgresConnection, _ logger: Logger) async throws -> Int {
        var count: Int64 = 0
        for try await (value) in try await connection.query(statement, logger: logger).decode(Int64.self) { count = value }
        return Int(count)
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
