import Foundation
import Testing
import TodoTestSupport
import TodoClient
import TodoCore

/// `listTasks`: every part of a `TaskQuery` reaches the backend, and its cursor pages through.
@Suite struct ListCallTests {
    /// Three tasks of one account, and its token.
    static func threeTasks(_ backend: LiveBackend) async throws -> String {
        let (_, token) = try await backend.signUp()
        for fields in [
            TaskFields(title: "Buy milk", priority: .high, tags: ["shop"], dueAt: .inSeconds(86_400)),
            TaskFields(title: "Call the dentist", description: "About the filling", priority: .low, tags: ["health"],
                       dueAt: .inSeconds(3 * 86_400)),
            TaskFields(title: "Feed the goats", description: "And collect the MILK", completed: true, tags: ["farm", "shop"]),
        ] {
            _ = try await backend.client.createTask(token: token, fields: fields)
        }
        return token
    }

    static func titles(_ backend: LiveBackend, _ token: String, _ change: (inout TaskQuery) -> Void) async throws -> [String] {
        var query = TaskQuery()
        change(&query)
        return try await backend.client.listTasks(token: token, query: query).items.map(\.fields.title)
    }

    @Test func listFiltersByStatus() async throws {
        try await LiveBackend.run { backend in
            let token = try await Self.threeTasks(backend)
            #expect(Set(try await Self.titles(backend, token) { $0.status = .pending }) == ["Buy milk", "Call the dentist"])
            #expect(try await Self.titles(backend, token) { $0.status = .completed } == ["Feed the goats"])
            #expect(try await Self.titles(backend, token) { $0.status = .all }.count == 3)
        }
    }

    @Test func listFiltersByAnyOfThePrioritiesAndByEveryTag() async throws {
        try await LiveBackend.run { backend in
            let token = try await Self.threeTasks(backend)
            #expect(Set(try await Self.titles(backend, token) { $0.priorities = [.high, .low] }) == ["Buy milk", "Call the dentist"])
            #expect(try await Self.titles(backend, token) { $0.priorities = [.none] } == ["Feed the goats"])
            #expect(Set(try await Self.titles(backend, token) { $0.tags = ["shop"] }) == ["Buy milk", "Feed the goats"])
            #expect(try await Self.titles(backend, token) { $0.tags = ["shop", "farm"] } == ["Feed the goats"])
        }
    }

    @Test func listFiltersByTheDueRangeWithTheLowerBoundInclusive() async throws {
        try await LiveBackend.run { backend in
            let token = try await Self.threeTasks(backend)
            let inTwoDays = Timestamp.inSeconds(2 * 86_400)
            #expect(try await Self.titles(backend, token) { $0.dueBefore = inTwoDays } == ["Buy milk"])
            #expect(try await Self.titles(backend, token) { $0.dueAfter = inTwoDays } == ["Call the dentist"])
            var dentistQuery = TaskQuery()
            dentistQuery.search = "dentist"
            let dentist = try #require(try await backend.client.listTasks(token: token, query: dentistQuery).items.first?.fields.dueAt)
            #expect(try await Self.titles(backend, token) { $0.dueAfter = dentist } == ["Call the dentist"])
            #expect(try await Self.titles(backend, token) { $0.dueBefore = dentist } == ["Buy milk"])
        }
    }

    @Test func listSearchesTitleAndDescriptionIgnoringCaseAndSpecialCharactersStayLiteral() async throws {
        try await LiveBackend.run { backend in
            let token = try await Self.threeTasks(backend)
            #expect(Set(try await Self.titles(backend, token) { $0.search = "milk" }) == ["Buy milk", "Feed the goats"])
            #expect(try await Self.titles(backend, token) { $0.search = "FILLING" } == ["Call the dentist"])
            // Characters that mean something in a query string or to SQL LIKE are sent as text.
            #expect(try await Self.titles(backend, token) { $0.search = "milk&status=completed" }.isEmpty)
            #expect(try await Self.titles(backend, token) { $0.search = "%" }.isEmpty)
        }
    }

    @Test func listSortsByTheRequestedFieldAndDirection() async throws {
        try await LiveBackend.run { backend in
            let token = try await Self.threeTasks(backend)
            #expect(try await Self.titles(backend, token) { $0.sort = .init(field: .title, descending: false) }
                == ["Buy milk", "Call the dentist", "Feed the goats"])
            #expect(try await Self.titles(backend, token) { $0.sort = .init(field: .title, descending: true) }
                == ["Feed the goats", "Call the dentist", "Buy milk"])
            #expect(try await Self.titles(backend, token) { $0.sort = .init(field: .priority, descending: true) }
                == ["Buy milk", "Call the dentist", "Feed the goats"])
        }
    }

    @Test func theReturnedCursorPagesThroughEveryTaskOnceAndTheLastPageHasNone() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let titles = (1...7).map { "Task \($0)" }
            for title in titles.shuffled() { _ = try await backend.client.createTask(token: token, fields: TaskFields(title: title)) }
            var query = TaskQuery()
            query.sort = .init(field: .title, descending: false)
            query.limit = 3
            var seen: [[String]] = []
            while true {
                let page = try await backend.client.listTasks(token: token, query: query)
                seen.append(page.items.map(\.fields.title))
                guard let cursor = page.nextCursor else { break }
                #expect(cursor.sort == "title")
                query.cursor = cursor
                if seen.count > 5 { break }
            }
            #expect(seen == [["Task 1", "Task 2", "Task 3"], ["Task 4", "Task 5", "Task 6"], ["Task 7"]])
        }
    }

    @Test func aCursorUsedWithAnotherSortOrderThrowsValidationNamingTheCursor() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            for title in ["A", "B"] { _ = try await backend.client.createTask(token: token, fields: TaskFields(title: title)) }
            var query = TaskQuery()
            query.sort = .init(field: .title, descending: false)
            query.limit = 1
            let cursor = try #require(try await backend.client.listTasks(token: token, query: query).nextCursor)
            query.cursor = cursor
            query.sort = .init(field: .created, descending: true)
            let error = await clientError { try await backend.client.listTasks(token: token, query: query) }
            #expect(error?.fields == ["cursor"])
        }
    }

    @Test func anEmptyListHasNoItemsAndNoCursor() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            #expect(try await backend.client.listTasks(token: token) == TaskPage(items: [], nextCursor: nil))
        }
    }
}
