import Foundation
import NIOCore
import Testing
@testable import TodoAPI
import TodoCore

/// The hand-written task JSON must be byte for byte what the reference `Encodable` gives.
@Suite struct TaskJSONTests {
    static let samples: [TodoTask] = [
        TodoTask(id: 1, userID: "u", fields: TaskFields(title: "plain"), completedAt: nil, version: 1,
                 createdAt: Timestamp(millisecondsSinceEpoch: 0), updatedAt: Timestamp(millisecondsSinceEpoch: 1)),
        TodoTask(
            id: 9_007_199_254_740_993, userID: "u",
            fields: TaskFields(
                title: "Quote \" backslash \\ slash / émoji 🎉 RTL שלום \u{2028}",
                description: "line\nbreak\ttab\r\u{1}\u{8}\u{c}\u{1f} end", completed: true, priority: .high,
                tags: ["home", "a\"b"], dueAt: Timestamp(millisecondsSinceEpoch: 1_795_426_215_250),
                remindAt: Timestamp(millisecondsSinceEpoch: -5),
                recurrence: Recurrence(frequency: .monthly, interval: 2, until: Timestamp(millisecondsSinceEpoch: 2_000_000_000_000),
                                       count: 7, timezone: "Europe/Berlin")),
            completedAt: Timestamp(millisecondsSinceEpoch: 42), version: 3,
            createdAt: Timestamp(millisecondsSinceEpoch: 10), updatedAt: Timestamp(millisecondsSinceEpoch: 20)),
        TodoTask(id: 2, userID: "u", fields: TaskFields(title: "r", dueAt: Timestamp(millisecondsSinceEpoch: 0),
                                                         recurrence: Recurrence(frequency: .daily)),
                 completedAt: nil, version: 1, createdAt: Timestamp(millisecondsSinceEpoch: 0), updatedAt: Timestamp(millisecondsSinceEpoch: 0)),
    ]

    @Test func writesExactlyWhatTheEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for task in Self.samples {
            let expected = String(decoding: try encoder.encode(task), as: UTF8.self)
            #expect(String(buffer: TaskJSON.single(task)) == expected)
        }
        let page = String(buffer: TaskJSON.page(Self.samples, nextCursor: "abc"))
        let decoded = try JSONSerialization.jsonObject(with: Data(page.utf8)) as? [String: Any]
        #expect((decoded?["items"] as? [Any])?.count == 3)
        #expect(decoded?["next_cursor"] as? String == "abc")
    }
}
