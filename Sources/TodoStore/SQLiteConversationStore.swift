import SQLiteNIO
import TodoCore

/// The assistant's conversations on SQLite.
struct SQLiteConversationStore: ConversationStore {
    let database: SQLiteDatabase

    func createConversation(_ conversation: Conversation) async throws -> Conversation? {
        let rows = try await database.write(
            """
            INSERT INTO conversations (id, user_id, title, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5
            WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2) RETURNING id
            """,
            [.text(conversation.id), .text(conversation.userID), .text(conversation.title), SQLiteDatabase.time(conversation.createdAt),
             SQLiteDatabase.time(conversation.updatedAt)])
        return rows.isEmpty ? nil : conversation
    }

    func conversation(id: String, userID: UserID) async throws -> Conversation? {
        try await database.read(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE id = ?1 AND user_id = ?2",
            [.text(id), .text(userID)]
        ).first.map(Self.conversation)
    }

    func conversations(userID: UserID, limit: Int) async throws -> [Conversation] {
        try await database.read(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE user_id = ?1 ORDER BY updated_at DESC, id LIMIT ?2",
            [.text(userID), .integer(limit)]
        ).map(Self.conversation)
    }

    func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws {
        _ = try await database.transaction { writer in
            for message in messages {
                _ = try await writer.query(
                    "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    [.text(conversationID), .text(message.role.rawValue), .text(message.content),
                     message.storedToolCalls.map(SQLiteData.text) ?? .null, message.toolCallID.map(SQLiteData.text) ?? .null,
                     SQLiteDatabase.time(message.createdAt)])
            }
            _ = try await writer.query("UPDATE conversations SET updated_at = ?2 WHERE id = ?1", [.text(conversationID), SQLiteDatabase.time(time)])
        }
    }

    func messages(conversationID: String, limit: Int) async throws -> [ChatMessage] {
        let rows = try await database.read(
            """
            SELECT role, content, tool_calls, tool_call_id, created_at FROM (
                SELECT * FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id
            """,
            [.text(conversationID), .integer(limit)])
        return try rows.map { row in
            try ChatMessage(
                role: row.column("role")?.string ?? "", content: row.column("content")?.string ?? "",
                storedToolCalls: row.column("tool_calls")?.string, toolCallID: row.column("tool_call_id")?.string,
                createdAt: SQLiteDatabase.time(row.column("created_at")) ?? Timestamp(millisecondsSinceEpoch: 0))
        }
    }

    private static func conversation(_ row: SQLiteRow) throws -> Conversation {
        guard let id = row.column("id")?.string, let userID = row.column("user_id")?.string, let title = row.column("title")?.string,
              let created = SQLiteDatabase.time(row.column("created_at")), let updated = SQLiteDatabase.time(row.column("updated_at"))
        else { throw StoreError.invalid("malformed conversations row") }
        return Conversation(id: id, userID: userID, title: title, createdAt: created, updatedAt: updated)
    }
}
