import Foundation
import Testing
import TodoCore
@testable import TodoStore

/// The task row is described once (`TaskColumn`, `TaskRow`); these hold the statements made
/// from it to that description. The conformance suite proves the round trip on both databases.
@Suite struct TaskRowTests {
    @Test(arguments: TaskColumn.allCases)
    func everyColumnWritesExactlyOneValue(_ column: TaskColumn) {
        #expect(ColumnKind.of([column]).count == 1)
    }

    @Test func everyWrittenValueIsReadBackInTheSameColumn() throws {
        let task = TodoTask(
            id: 42, userID: "u-1",
            fields: TaskFields(title: "Pay rent", description: "by transfer", completed: true, priority: .high,
                               tags: ["home", "money"], dueAt: Timestamp(millisecondsSinceEpoch: 1_000),
                               remindAt: Timestamp(millisecondsSinceEpoch: 500),
                               recurrence: Recurrence(frequency: .weekly, interval: 2)),
            completedAt: Timestamp(millisecondsSinceEpoch: 2_000), version: 3,
            createdAt: Timestamp(millisecondsSinceEpoch: 100), updatedAt: Timestamp(millisecondsSinceEpoch: 200),
            series: Series(start: Timestamp(millisecondsSinceEpoch: 1_000), occurrence: 4), nextOccurrenceID: 43,
            projectID: 7, parentID: 41, position: 2048.5, assigneeID: "u-2", subtaskCount: 5, subtasksDone: 2)
        var row = ValueList()
        TaskRow.write(task, TaskColumn.allCases, to: &row)
        #expect(try TaskRow.read(from: &row) == task)
    }

    /// One per written column, then the owner's quota.
    @Test func insertBindsOneParameterPerWrittenColumnAndTheLimit() {
        for (sql, placeholder) in [(InsertTaskStatement.sql, "$"), (InsertTasksStatement.sql, "$"), (SQLiteTaskStore.insert, "?")] {
            #expect(Self.highestParameter(in: sql, prefix: placeholder) == TaskColumn.inserted.count + 1)
        }
        #expect(InsertTaskStatement.bindingDataTypes.count == TaskColumn.inserted.count + 1)
        #expect(InsertTasksStatement.bindingDataTypes.count == TaskColumn.inserted.count + 1)
    }

    @Test func updateBindsItsColumnsThenTheRowAndItsVersion() {
        for (sql, placeholder) in [(TaskSQL.postgres.update, "$"), (TaskSQL.sqlite.update, "?")] {
            #expect(Self.highestParameter(in: sql, prefix: placeholder) == TaskColumn.updated.count + 3)
            #expect(!sql.contains("created_at ="))
            #expect(!sql.contains("user_id = \(placeholder)1,"))
        }
    }

    /// The highest `$n` or `?n` in a statement.
    static func highestParameter(in sql: String, prefix: String) -> Int {
        let pattern = try! Regex("\\\(prefix)([0-9]+)")
        return sql.matches(of: pattern).compactMap { Int(String(sql[$0.range].dropFirst())) }.max() ?? 0
    }

    /// Values in a list, written and read back in order: the two switches of `TaskRow` must
    /// agree on each column's value and kind.
    struct ValueList: TaskRowWriter, TaskRowReader {
        enum Value: Equatable {
            case text(String?), bool(Bool), time(Timestamp?), small(Int16), integer(Int32), big(Int64?), tags([String]), double(Double?)
        }

        var values: [Value] = []
        var index = 0

        mutating func text(_ value: String) { values.append(.text(value)) }
        mutating func optionalText(_ value: String?) { values.append(.text(value)) }
        mutating func bool(_ value: Bool) { values.append(.bool(value)) }
        mutating func time(_ value: Timestamp) { values.append(.time(value)) }
        mutating func optionalTime(_ value: Timestamp?) { values.append(.time(value)) }
        mutating func smallInteger(_ value: Int16) { values.append(.small(value)) }
        mutating func integer(_ value: Int32) { values.append(.integer(value)) }
        mutating func bigInteger(_ value: Int64) { values.append(.big(value)) }
        mutating func optionalBigInteger(_ value: Int64?) { values.append(.big(value)) }
        mutating func textArray(_ value: [String]) { values.append(.tags(value)) }
        mutating func optionalDouble(_ value: Double?) { values.append(.double(value)) }

        mutating func next() -> Value {
            defer { index += 1 }
            return values[index]
        }

        struct Mismatch: Error {}

        mutating func text() throws -> String { guard case .text(let v?) = next() else { throw Mismatch() }; return v }
        mutating func optionalText() throws -> String? { guard case .text(let v) = next() else { throw Mismatch() }; return v }
        mutating func bool() throws -> Bool { guard case .bool(let v) = next() else { throw Mismatch() }; return v }
        mutating func time() throws -> Timestamp { guard case .time(let v?) = next() else { throw Mismatch() }; return v }
        mutating func optionalTime() throws -> Timestamp? { guard case .time(let v) = next() else { throw Mismatch() }; return v }
        mutating func smallInteger() throws -> Int16 { guard case .small(let v) = next() else { throw Mismatch() }; return v }
        mutating func integer() throws -> Int32 { guard case .integer(let v) = next() else { throw Mismatch() }; return v }
        mutating func bigInteger() throws -> Int64 { guard case .big(let v?) = next() else { throw Mismatch() }; return v }
        mutating func optionalBigInteger() throws -> Int64? { guard case .big(let v) = next() else { throw Mismatch() }; return v }
        mutating func textArray() throws -> [String] { guard case .tags(let v) = next() else { throw Mismatch() }; return v }
        mutating func double() throws -> Double { guard case .double(let v?) = next() else { throw Mismatch() }; return v }
    }
}
