import SQLiteNIO
import TodoCore

/// The assistant's conversations on SQLite.
struct SQLiteConversationStore: ConversationStore {
    let database: SQLiteDatabase

    /// One statement counts and inserts; SQLite's one writer runs statements one after another.
    func createConversation(_ conversation: Conversation, limit: Int) async throws -> Conversation? {
        let rows = try await database.write(
            """
            INSERT INTO conversations (id, user_id, title, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5
            WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2) AND (SELECT count(*) FROM conversations WHERE user_id = ?2) < ?6
            RETURNING id
            """,
            [.text(conversation.id), .text(conversation.userID), .text(conversation.title), SQLiteDatabase.time(conversation.createdAt),
             SQLiteDatabase.time(conversation.updatedAt), .integer(limit)])
        guard rows.isEmpty else { return conversation }
        guard try await !database.read("SELECT 1 FROM users WHERE id = ?1", [.text(conversation.userID)]).isEmpty else { return nil }
        throw QuotaReached(.conversations, limit: limit)
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

    func appendUserMessage(_ message: ChatMessage, conversationID: String, limit: Int) async throws {
        let appended = try await database.transaction { writer in
            let inserted = try await writer.query(
                Self.insert + " WHERE (SELECT count(*) FROM messages WHERE conversation_id = ?1 AND role = 'user') < ?7 RETURNING id",
                Self.binds(message, conversationID) + [.integer(limit)])
            guard !inserted.isEmpty else { throw SQLiteDatabase.Rollback() }
            _ = try await writer.query(Self.markActive, [.text(conversationID), SQLiteDatabase.time(message.createdAt)])
            return true
        }
        if appended == nil { throw QuotaReached(.messages, limit: limit) }
    }

    func appendMessages(_ messages: [ChatMessage], conversationID: String, at time: Timestamp) async throws {
        _ = try await database.transaction { writer in
            for message in messages {
                _ = try await writer.query(Self.insert, Self.binds(message, conversationID))
            }
            _ = try await writer.query(Self.markActive, [.text(conversationID), SQLiteDatabase.time(time)])
        }
    }

    /// A message's row, as a SELECT so that a condition can follow.
    private static let insert = """
        INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6
        """
    private static let markActive = "UPDATE conversations SET updated_at = ?2 WHERE id = ?1"

    private static func binds(_ message: ChatMessage, _ conversationID: String) -> [SQLiteData] {
        [.text(conversationID), .text(message.role.rawValue), .text(message.content), message.storedToolCalls.map(SQLiteData.text) ?? .null,
         message.toolCallID.map(SQLiteData.text) ?? .null, SQLiteDatabase.time(message.createdAt)]
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
