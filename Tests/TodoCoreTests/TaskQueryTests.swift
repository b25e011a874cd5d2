import Testing
import TodoCore

@Suite struct TaskQueryTests {
    @Test func defaultsAreNewestFirstFiftyAtATime() throws {
        let query = try TaskQuery(parameters: [])
        #expect(query.sort == .init(field: .created, descending: true))
        #expect(query.limit == 50)
        #expect(query.status == .all)
    }

    @Test func readsEveryParameter() throws {
        let query = try TaskQuery(parameters: [
            ("status", "pending"), ("priority", "high,medium"), ("priority", "high"), ("tag", "#Home"), ("tag", "work,home"),
            ("due_after", "2026-01-01T00:00:00Z"), ("due_before", "2026-02-01T00:00:00+01:00"), ("q", "  milk "),
            ("sort", "-due"), ("limit", "200"),
        ])
        #expect(query.status == .pending)
        #expect(query.priorities == [.high, .medium])
        #expect(query.tags == ["home", "work"])
        #expect(query.dueAfter == Timestamp(rfc3339: "2026-01-01T00:00:00Z"))
        #expect(query.dueBefore == Timestamp(rfc3339: "2026-01-31T23:00:00Z"))
        #expect(query.search == "milk")
        #expect(query.sort == .init(field: .due, descending: true))
        #expect(query.limit == 200)
    }

    @Test(arguments: [
        ("status", "done"), ("priority", "urgent"), ("tag", "a b"), ("due_after", "soon"), ("sort", "random"),
        ("sort", "title; DROP TABLE tasks"), ("limit", "0"), ("limit", "201"), ("limit", "ten"), ("cursor", "garbage"),
        ("q", String(repeating: "x", count: 201)), ("page", "2"),
    ])
    func rejectsBadParameter(_ name: String, _ value: String) {
        #expect(throws: ValidationError.self) { try TaskQuery(parameters: [(name, value)]) }
    }

    @Test func cursorOnlyWorksWithTheSortThatMadeIt() throws {
        let cursor = TaskCursor(sort: .init(field: .title, descending: false), key: .text("m"), id: 4)
        let query = try TaskQuery(parameters: [("sort", "title"), ("cursor", cursor.token)])
        #expect(query.cursor == cursor)
        #expect(throws: ValidationError.self) { try TaskQuery(parameters: [("sort", "-title"), ("cursor", cursor.token)]) }
    }

    @Test func forgedCursorWithWrongKeyTypeIsRejected() {
        let forged = TaskCursor(sort: .init(field: .created, descending: true), key: .text("x"), id: 1)
        #expect(throws: ValidationError.self) { try TaskQuery(parameters: [("cursor", forged.token)]) }
    }

    @Test(arguments: [
        TaskCursor.Key.integer(1_795_000_000_123), .integer(-1), .none, .text(""), .text("m"), .text("ab"), .text("abc"),
        .text("quote \" backslash \\ slash / tab \t nul \u{0} bell \u{7} del \u{7F}"), .text("é 日本 👩‍👩‍👧 \u{202E}"),
    ])
    func cursorTokenReadsBackWhateverTheKey(_ key: TaskCursor.Key) throws {
        let cursor = TaskCursor(sort: .init(field: .title, descending: true), key: key, id: 42)
        let token = cursor.token
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        #expect(TaskCursor(token: token) == cursor)  // base64url, then JSONDecoder
    }
}
