import Foundation
import HTTPTypes
import Testing
import TodoAPI
import TodoCore

@Suite struct RecurringRouteTests {
    @Test func completingRecurringTaskCreatesNextOccurrenceOnce() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let task = try await api.createTask(token, """
                {"title": "Rent", "due_at": "2026-01-31T09:00:00Z", "remind_at": "2026-01-30T09:00:00Z",
                 "recurrence": {"frequency": "monthly", "count": 5}}
                """)
            let id = try #require(task["id"] as? String)
            for path in ["complete", "complete", "complete"] {  // complete, reopen, complete again
                _ = try await api.request(.patch, "/api/me/tasks/\(id)/\(path)", token: token)
            }
            let items = try #require(try await api.request(.get, "/api/me/tasks?sort=due", token: token).object["items"] as? [[String: Any]])
            #expect(items.count == 2)
            let next = try #require(items.last)
            #expect(next["due_at"] as? String == "2026-02-28T09:00:00.000Z")
            #expect(next["remind_at"] as? String == "2026-02-27T09:00:00.000Z")
            #expect(next["completed"] as? Bool == false)
            #expect((next["recurrence"] as? [String: Any])?["count"] as? Int == 4)
        }
    }

    @Test func completingThroughPatchOrPutAlsoCreatesTheNextOccurrence() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let body = #"{"title": "Water plants", "due_at": "2026-03-01T08:00:00Z", "recurrence": {"frequency": "weekly", "interval": 2}}"#
            let id = try #require(try await api.createTask(token, body)["id"] as? String)
            _ = try await api.request(.patch, "/api/me/tasks/\(id)", token: token, body: #"{"completed": true}"#)
            let dues = (try await api.request(.get, "/api/me/tasks?sort=due", token: token).object["items"] as? [[String: Any]])?
                .compactMap { $0["due_at"] as? String }
            #expect(dues == ["2026-03-01T08:00:00.000Z", "2026-03-15T08:00:00.000Z"])
        }
    }
}

@Suite struct PersonalTokenRouteTests {
    @Test func tokenIsShownOnceAndWorksAsBearer() async throws {
        try await APIHarness.run { api in
            let (session, _) = try await api.signUp()
            let created = try await api.request(.post, "/api/tokens", token: session, body: #"{"name": "laptop cli"}"#)
            #expect(created.status == .created)
            let secret = try #require(created.object["token"] as? String)
            #expect(secret.hasPrefix("todo_pat_"))
            let tokenID = try #require(created.object["id"] as? String)
            let list = try await api.request(.get, "/api/tokens", token: session)
            let items = try #require(list.object["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items[0]["token"] == nil)
            #expect(items[0]["name"] as? String == "laptop cli")
            #expect(!list.text.contains(secret))
            #expect(try await api.request(.post, "/api/me/tasks", token: secret, body: #"{"title": "via token"}"#).status == .created)
            let used = try await api.request(.get, "/api/tokens", token: session)
            #expect(((used.object["items"] as? [[String: Any]])?.first?["last_used_at"]) is String)
            #expect(try await api.request(.delete, "/api/tokens/\(tokenID)", token: session).status == .noContent)
            #expect(try await api.request(.get, "/api/me/tasks", token: secret).status == .unauthorized)
        }
    }

    @Test func aBusyTokenRecordsItsLastUseOncePerMinuteNotPerRequest() async throws {
        try await APIHarness.run { api in
            let (session, _) = try await api.signUp()
            let secret = try #require(try await api.request(.post, "/api/tokens", token: session, body: #"{"name": "script"}"#).object["token"] as? String)
            func lastUse() async throws -> String? {
                (try await api.request(.get, "/api/tokens", token: session).object["items"] as? [[String: Any]])?.first?["last_used_at"] as? String
            }
            #expect(try await api.request(.get, "/api/me/tasks", token: secret).status == .ok)
            let first = try #require(try await lastUse())
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(5))
                #expect(try await api.request(.get, "/api/me/tasks", token: secret).status == .ok)
            }
            #expect(try await lastUse() == first)
        }
    }

    @Test func personalTokenCannotManageTokens() async throws {
        try await APIHarness.run { api in
            let (session, _) = try await api.signUp()
            let secret = try #require(try await api.request(.post, "/api/tokens", token: session, body: #"{"name": "x"}"#).object["token"] as? String)
            #expect(try await api.request(.get, "/api/tokens", token: secret).status == .forbidden)
            #expect(try await api.request(.post, "/api/tokens", token: secret, body: #"{"name": "y"}"#).status == .forbidden)
        }
    }

    @Test func forgedExpiredOrForeignTokensAreRefused() async throws {
        try await APIHarness.run { api in
            let ann = try await api.signUp()
            let bob = try await api.signUp()
            // Long enough for the checks below on a busy machine; then the test waits for it to pass.
            let expiry = Timestamp.now().adding(milliseconds: 4000)
            let soon = expiry.rfc3339
            let expiring = try #require(try await api.request(.post, "/api/tokens", token: ann.token,
                                                              body: #"{"name": "short", "expires_at": "\#(soon)"}"#).object["token"] as? String)
            #expect(try await api.request(.get, "/api/me/tasks", token: expiring).status == .ok)
            #expect(try await api.request(.get, "/api/me/tasks", token: "todo_pat_made-up").status == .unauthorized)
            #expect(try await api.request(.get, "/api/\(bob.userID)/tasks", token: expiring).status == .forbidden)
            let bobsTokenID = try #require(try await api.request(.post, "/api/tokens", token: bob.token, body: #"{"name": "b"}"#).object["id"] as? String)
            #expect(try await api.request(.delete, "/api/tokens/\(bobsTokenID)", token: ann.token).status == .notFound)
            try await Task.sleep(for: .milliseconds(max(0, expiry.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch) + 100))
            #expect(try await api.request(.get, "/api/me/tasks", token: expiring).status == .unauthorized)
        }
    }

    @Test(arguments: [#"{}"#, #"{"name": ""}"#, #"{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}"#,
                      #"{"name": "x", "expires_at": "never"}"#, #"{"name": "x", "scope": "all"}"#])
    func invalidTokenRequestsAreRejected(_ body: String) async throws {
        try await APIHarness.run { api in
            let (session, _) = try await api.signUp()
            #expect(try await api.request(.post, "/api/tokens", token: session, body: body).status == .unprocessableContent)
        }
    }
}

@Suite struct TransferRouteTests {
    @Test func exportThenImportIsLossless() async throws {
        try await APIHarness.run { api in
            let ann = try await api.signUp()
            _ = try await api.createTask(ann.token, """
                {"title": "Pay rent 🏠", "description": "line\\nbreak", "priority": "high", "tags": ["home", "money"],
                 "due_at": "2026-02-01T09:00:00Z", "remind_at": "2026-02-01T08:00:00Z",
                 "recurrence": {"frequency": "monthly", "interval": 1, "timezone": "Europe/Berlin"}}
                """)
            let done = try #require(try await api.createTask(ann.token, #"{"title": "Done already"}"#)["id"] as? String)
            _ = try await api.request(.patch, "/api/me/tasks/\(done)/complete", token: ann.token)
            let trip = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: ##"{"name": "Trip", "color": "#336699"}"##).object["id"] as? String)
            let old = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: #"{"name": "Old"}"#).object["id"] as? String)
            _ = try await api.request(.patch, "/api/me/projects/\(old)", token: ann.token, body: #"{"archived": true}"#)
            let pack = try #require(try await api.createTask(ann.token, #"{"title": "Pack", "project_id": "\#(trip)"}"#)["id"] as? String)
            _ = try await api.createTask(ann.token, #"{"title": "Book flights", "project_id": "\#(trip)", "position": 1}"#)
            let socks = try #require(try await api.createTask(ann.token, #"{"title": "Socks", "parent_id": "\#(pack)"}"#)["id"] as? String)
            _ = try await api.createTask(ann.token, #"{"title": "Wool socks", "parent_id": "\#(socks)"}"#)
            let export = try await api.request(.get, "/api/me/export", token: ann.token)
            #expect(export.status == .ok)
            #expect(export.object["format"] as? String == "todo-export" && export.object["version"] as? Int == 2)
            let bob = try await api.signUp()
            let imported = try await api.request(.post, "/api/me/import", token: bob.token, body: export.text)
            #expect(imported.status == .ok)
            #expect(imported.object["imported"] as? Int == 6 && imported.object["projects"] as? Int == 2)
            let again = try await api.request(.get, "/api/me/export", token: bob.token)
            #expect(Self.content(again) == Self.content(export))
            #expect(Self.content(again).count == 9)
        }
    }

    /// The document without its ids and times of import: a task's project by name, its parent
    /// by title.
    static func content(_ reply: APIHarness.Reply) -> [NSDictionary] {
        let projects = reply.object["projects"] as? [[String: Any]] ?? []
        // By title: tasks made in the same millisecond may come in another order.
        let tasks = (reply.object["tasks"] as? [[String: Any]] ?? []).sorted { ($0["title"] as? String ?? "") < ($1["title"] as? String ?? "") }
        let projectNames = Dictionary(uniqueKeysWithValues: projects.map { ($0["id"] as? String ?? "", $0["name"] as? String ?? "") })
        let titles = Dictionary(uniqueKeysWithValues: tasks.map { ($0["id"] as? String ?? "", $0["title"] as? String ?? "") })
        let namedProjects = projects.map { project in
            var project = project
            for key in ["id", "created_at", "updated_at"] { project[key] = nil }
            return project as NSDictionary
        }
        return namedProjects + tasks.map { task in
            var task = task
            task["id"] = nil
            task["project_id"] = (task["project_id"] as? String).flatMap { projectNames[$0] }
            task["parent_id"] = (task["parent_id"] as? String).flatMap { titles[$0] }
            return task as NSDictionary
        }
    }

    @Test func invalidImportNamesEveryBadTaskAndStoresNothing() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let body = """
                {"format": "todo-export", "version": 1, "tasks": [{"title": "fine"}, {"title": ""}, {"title": "x", "priority": "?"}]}
                """
            let reply = try await api.request(.post, "/api/me/import", token: token, body: body)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == ["tasks[1].title", "tasks[2].priority"])
            #expect((try await api.request(.get, "/api/me/tasks", token: token).object["items"] as? [Any])?.isEmpty == true)
            let wrongFormat = try await api.request(.post, "/api/me/import", token: token, body: #"{"format": "csv", "version": 3, "tasks": []}"#)
            #expect(wrongFormat.errorFields == ["format", "version"])
        }
    }

    @Test func importHasItsOwnSizeLimit() async throws {
        try await APIHarness.run(configure: { $0.maxImportSize = 2048 }) { api in
            let (token, _) = try await api.signUp()
            let tasks = (0..<100).map { #"{"title": "task \#($0)"}"# }.joined(separator: ",")
            let reply = try await api.request(.post, "/api/me/import", token: token, body: #"{"format": "todo-export", "version": 1, "tasks": [\#(tasks)]}"#)
            #expect(reply.status == .contentTooLarge)
        }
    }
}

@Suite struct QueryStringTests {
    @Test func plusIsASpaceAndEscapesAreDecoded() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            _ = try await api.createTask(token, #"{"title": "buy milk", "tags": ["ä"]}"#)
            for query in ["q=buy+milk", "q=buy%20milk", "q=BUY+MILK", "tag=%C3%A4"] {
                let items = try await api.request(.get, "/api/me/tasks?\(query)", token: token).object["items"] as? [Any]
                #expect(items?.count == 1, "\(query)")
            }
        }
    }

    @Test(arguments: ["q=%zz", "q=%", "q=%C3", "q=%FF"])
    func malformedEscapesAre400(_ query: String) async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            #expect(try await api.request(.get, "/api/me/tasks?\(query)", token: token).status == .badRequest)
        }
    }

    @Test func searchFoldsUnicodeCase() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            _ = try await api.createTask(token, #"{"title": "Äpfel kaufen"}"#)
            _ = try await api.createTask(token, #"{"title": "zebra"}"#)
            _ = try await api.createTask(token, #"{"title": "Élan"}"#)
            let found = try await api.request(.get, "/api/me/tasks?q=%C3%A4PFEL", token: token).object["items"] as? [Any]
            #expect(found?.count == 1)
            let sorted = (try await api.request(.get, "/api/me/tasks?sort=title", token: token).object["items"] as? [[String: Any]])?
                .compactMap { $0["title"] as? String }
            #expect(sorted == ["zebra", "Äpfel kaufen", "Élan"] || sorted == ["Äpfel kaufen", "Élan", "zebra"])
        }
    }
}
