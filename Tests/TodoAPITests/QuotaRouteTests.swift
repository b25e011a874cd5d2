import Foundation
import HTTPTypes
import Testing
@testable import TodoAPI
import TodoCore

/// Quotas as clients see them: 409 `quota_exceeded` naming the quota and its limit, with
/// nothing stored; and the fixed limit of tags per task.
@Suite struct QuotaRouteTests {
    @Test func aTaskBeyondTheQuotaIs409AndNotStored() async throws {
        try await APIHarness.run(configure: { $0.tasksPerUserLimit = 2 }) { api in
            let (token, _) = try await api.signUp()
            _ = try await api.createTask(token, #"{"title": "one"}"#)
            _ = try await api.createTask(token, #"{"title": "two"}"#)
            let refused = try await api.request(.post, "/api/me/tasks", token: token, body: #"{"title": "three"}"#)
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "quota_exceeded")
            let details = (refused.object["error"] as? [String: Any])?["details"] as? [[String: String]]
            #expect(details == [["field": "tasks", "message": "at most 2 per account"]])
            #expect(try await Self.titles(api, token) == ["one", "two"])
        }
    }

    @Test func anImportBeyondTheQuotaIsRefusedWhole() async throws {
        try await APIHarness.run(configure: { $0.tasksPerUserLimit = 3 }) { api in
            let (token, _) = try await api.signUp()
            _ = try await api.createTask(token, #"{"title": "kept"}"#)
            let tasks = (0..<3).map { #"{"title": "imported \#($0)"}"# }.joined(separator: ",")
            let refused = try await api.request(.post, "/api/me/import", token: token, body: #"{"format": "todo-export", "version": 1, "tasks": [\#(tasks)]}"#)
            #expect(refused.status == .conflict)
            #expect(refused.errorFields == ["tasks"])
            #expect(try await Self.titles(api, token) == ["kept"])
        }
    }

    @Test func completingARecurringTaskAtTheQuotaIs409AndLeavesItOpen() async throws {
        try await APIHarness.run(configure: { $0.tasksPerUserLimit = 1 }) { api in
            let (token, _) = try await api.signUp()
            let task = try await api.createTask(token, #"{"title": "water plants", "due_at": "2026-03-01T09:00:00Z", "recurrence": {"frequency": "daily"}}"#)
            let id = try #require(task["id"] as? String)
            let refused = try await api.request(.patch, "/api/me/tasks/\(id)/complete", token: token)
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "quota_exceeded")
            let current = try await api.request(.get, "/api/me/tasks/\(id)", token: token)
            #expect(current.object["completed"] as? Bool == false)
            #expect(current.headers[.eTag] == "\"1\"")
        }
    }

    /// The count used to be read before the insert, so a burst of creations all read 49 or less.
    @Test func parallelTokenCreationsStopAtFifty() async throws {
        try await APIHarness.run { api in
            let (session, _) = try await api.signUp()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<60 {
                    group.addTask { try await api.request(.post, "/api/tokens", token: session, body: #"{"name": "script \#(index)"}"#).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 50)
            #expect(statuses.filter { $0 == .conflict }.count == 10)
            let list = try await api.request(.get, "/api/tokens", token: session)
            #expect((list.object["items"] as? [Any])?.count == 50)
            let refused = try await api.request(.post, "/api/tokens", token: session, body: #"{"name": "one more"}"#)
            #expect(refused.errorCode == "quota_exceeded")
            #expect(refused.errorFields == ["tokens"])
        }
    }

    @Test func moreThanTwentyTagsAre422OnCreateAndPatch() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let tags = (0..<21).map { "\"t\($0)\"" }.joined(separator: ",")
            let created = try await api.request(.post, "/api/me/tasks", token: token, body: #"{"title": "x", "tags": [\#(tags)]}"#)
            #expect(created.status == .unprocessableContent)
            #expect(created.errorFields == ["tags"])
            let id = try #require(try await api.createTask(token, #"{"title": "x"}"#)["id"] as? String)
            let patched = try await api.request(.patch, "/api/me/tasks/\(id)", token: token, body: #"{"tags": [\#(tags)]}"#)
            #expect(patched.status == .unprocessableContent)
            #expect(patched.errorFields == ["tags"])
        }
    }

    private static func titles(_ api: APIHarness, _ token: String) async throws -> [String] {
        let items = try await api.request(.get, "/api/me/tasks?sort=created", token: token).object["items"] as? [[String: Any]] ?? []
        return items.compactMap { $0["title"] as? String }
    }
}
