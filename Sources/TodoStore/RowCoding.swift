import Foundation
import TodoCore

/// Conversions between domain values and column values shared by both databases.
enum RowCoding {
    /// Tags never contain commas (the domain forbids them), so SQLite stores them comma-joined:
    /// cheaper to read than JSON, and `instr` finds a tag exactly.
    static func joinTags(_ tags: [String]) -> String { tags.joined(separator: ",") }

    static func splitTags(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }

    static func encodeRecurrence(_ recurrence: Recurrence?) -> String? {
        guard let recurrence, let data = try? JSONEncoder().encode(recurrence) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeRecurrence(_ text: String?) throws -> Recurrence? {
        guard let text else { return nil }
        return try JSONDecoder().decode(Recurrence.self, from: Data(text.utf8))
    }

    static func priority(rank: Int) throws -> Priority {
        guard let priority = Priority(rank: rank) else { throw StoreError.invalid("unknown priority rank \(rank) in the database") }
        return priority
    }
}
