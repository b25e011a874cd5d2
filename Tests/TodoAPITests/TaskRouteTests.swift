import Foundation
import HTTPTypes
import Testing
import TodoAPI

@Suite struct TaskRouteTests {
    @Test func createdTaskComesBackWithEveryField() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp()
            let reply = try await api.request(.post, "/api/\(userID)/tasks", token: token, body: """
                {"title": "Pay rent", "description": "to the landlord", "priority": "high", "tags": ["home"],
                 "due_at": "2026-12-01T09:00:00+01:00", "remind_at": "2026-12-01T07:00:00Z",
                 "recurrence": {"frequency": "monthly", "interval": 1}}
                """)
            #expect(reply.status == .created)
            let task = reply.object
            let id = try #require(task["id"] as? String)
            #expect(reply.headers[.location] == "/api/\(userID)/tasks/\(id)")
            #expect(reply.headers[.eTag] == "\"1\"")
            #expect(task["due_at"] as? String == "2026-12-01T08:00:00.000Z")
            #expect(task["completed"] as? Bool == false)
            #expect(Set(task.keys) == ["id", "title", "description", "completed", "priority", "tags", "due_at", "remind_at",
                                       "recurrence", "completed_at", "created_at", "updated_at", "project_id", "parent_id", "position",
                                       "assignee_id", "subtask_count", "subtasks_done"])
            let read = try await api.request(.get, "/api/me/tasks/\(id)", token: token)
            #expect(read.status == .ok)
            #expect(NSDictionary(dictionary: read.object) == NSDictionary(dictionary: task))
        }
    }

    @Test func updateReplacePatchCompleteAndDelete() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let id = try #require(try await api.createTask(token, #"{"title": "draft", "tags": ["a"]}"#)["id"] as? String)
            let put = try await api.request(.put, "/api/me/tasks/\(id)", token: token, body: #"{"title": "final"}"#)
            #expect(put.status == .ok)
            #expect(put.object["tags"] as? [String] == [])
            #expect(put.headers[.eTag] == "\"2\"")
            let patch = try await api.request(.patch, "/api/me/tasks/\(id)", token: token, body: #"{"priority": "low"}"#)
            #expect(patch.object["title"] as? String == "final")
            #expect(patch.object["priority"] as? String == "low")
            let done = try await api.request(.patch, "/api/me/tasks/\(id)/complete", token: token)
            #expect(done.object["completed"] as? Bool == true)
            #expect(done.object["completed_at"] is String)
            let toggled = try await api.request(.patch, "/api/me/tasks/\(id)/complete", token: token)
            #expect(toggled.object["completed"] as? Bool == false)
            let explicit = try await api.request(.patch, "/api/me/tasks/\(id)/complete", token: token, body: #"{"completed": true}"#)
            #expect(explicit.object["completed"] as? Bool == true)
            let again = try await api.request(.patch, "/api/me/tasks/\(id)/complete", token: token, body: #"{"completed": true}"#)
            #expect(again.object["completed"] as? Bool == true)
            #expect(try await api.request(.delete, "/api/me/tasks/\(id)", token: token).status == .noContent)
            #expect(try await api.request(.get, "/api/me/tasks/\(id)", token: token).status == .notFound)
            #expect(try await api.request(.delete, "/api/me/tasks/\(id)", token: token).status == .notFound)
        }
    }

    @Test func anotherUsersPathIs403AndTheirTasksAre404() async throws {
        try await APIHarness.run { api in
            let ann = try await api.signUp()
            let bob = try await api.signUp()
            let id = try #require(try await api.createTask(ann.token, #"{"title": "Ann's secret"}"#)["id"] as? String)
            // Bob names Ann in the path: forbidden.
            for (method, path) in [(HTTPRequest.Method.get, "/api/\(ann.userID)/tasks"), (.get, "/api/\(ann.userID)/tasks/\(id)"),
                                   (.post, "/api/\(ann.userID)/tasks"), (.delete, "/api/\(ann.userID)/tasks/\(id)")] {
                let reply = try await api.request(method, path, token: bob.token, body: method == .post ? #"{"title": "x"}"# : nil)
                #expect(reply.status == .forbidden, "\(method) \(path)")
            }
            // Bob asks for Ann's task under his own path: it does not exist for him.
            #expect(try await api.request(.get, "/api/me/tasks/\(id)", token: bob.token).status == .notFound)
            #expect(try await api.request(.put, "/api/me/tasks/\(id)", token: bob.token, body: #"{"title": "mine"}"#).status == .notFound)
            #expect(try await api.request(.patch, "/api/me/tasks/\(id)", token: bob.token, body: #"{"title": "mine"}"#).status == .notFound)
            #expect(try await api.request(.patch, "/api/me/tasks/\(id)/complete", token: bob.token).status == .notFound)
            #expect(try await api.request(.delete, "/api/me/tasks/\(id)", token: bob.token).status == .notFound)
            let bobsList = try await api.request(.get, "/api/me/tasks", token: bob.token)
            #expect((bobsList.object["items"] as? [Any])?.isEmpty == true)
            // Nothing changed for Ann.
            let read = try await api.request(.get, "/api/me/tasks/\(id)", token: ann.token)
            #expect(read.object["title"] as? String == "Ann's secret")
            #expect(read.headers[.eTag] == "\"1\"")
        }
    }

    @Test func staleIfMatchGets412AndChangesNothing() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let id = try #require(try await api.createTask(token, #"{"title": "v1"}"#)["id"] as? String)
            let first = try await api.request(.patch, "/api/me/tasks/\(id)", token: token, body: #"{"title": "v2"}"#, headers: [.ifMatch: "\"1\""])
            #expect(first.status == .ok)
            for method in [HTTPRequest.Method.put, .patch, .delete] {
                let stale = try await api.request(method, "/api/me/tasks/\(id)", token: token,
                                                  body: method == .delete ? nil : #"{"title": "lost"}"#, headers: [.ifMatch: "\"1\""])
                #expect(stale.status == .preconditionFailed, "\(method)")
                #expect(stale.errorCode == "precondition_failed")
            }
            let bogus = try await api.request(.patch, "/api/me/tasks/\(id)", token: token, body: #"{"title": "x"}"#, headers: [.ifMatch: "W/\"2\""])
            #expect(bogus.status == .preconditionFailed)
            let read = try await api.request(.get, "/api/me/tasks/\(id)", token: token)
            #expect(read.object["title"] as? String == "v2")
            #expect(try await api.request(.delete, "/api/me/tasks/\(id)", token: token, headers: [.ifMatch: "\"2\""]).status == .noContent)
        }
    }

    @Test(arguments: [
        ("{", "invalid_json", 400),
        ("", "invalid_json", 400),
        ("{\"title\": \"x\"} trailing", "invalid_json", 400),
        ("\u{FF}\u{FE}", "invalid_json", 400),
        ("[]", "validation_failed", 422),
        (#"{"title": 42}"#, "validation_failed", 422),
        (#"{"title": "ok", "completed": "true"}"#, "validation_failed", 422),
        (#"{"title": "ok", "colour": "red"}"#, "validation_failed", 422),
    ])
    func badBodiesGetClearErrorsAndStoreNothing(_ body: String, _ code: String, _ status: Int) async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let reply = try await api.request(.post, "/api/me/tasks", token: token, body: body)
            #expect(reply.status.code == status)
            #expect(reply.errorCode == code)
            #expect((reply.object["error"] as? [String: Any])?["message"] is String)
            let list = try await api.request(.get, "/api/me/tasks", token: token)
            #expect((list.object["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func oversizeBodyGets413() async throws {
        try await APIHarness.run(configure: { $0.maxBodySize = 4096 }) { api in
            let (token, _) = try await api.signUp()
            let description = String(repeating: "x", count: 5000)
            let reply = try await api.request(.post, "/api/me/tasks", token: token, body: #"{"title": "big", "description": "\#(description)"}"#)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "payload_too_large")
        }
    }

    @Test func deeplyNestedJSONIsRejectedNotCrashing() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let nested = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            let reply = try await api.request(.post, "/api/me/tasks", token: token, body: #"{"title": "x", "tags": \#(nested)}"#)
            #expect(reply.status.code == 400 || reply.status.code == 422)
        }
    }

    @Test(arguments: ["abc", "0", "-1", "99999999999999999999", "1.5", "1%20OR%201=1"])
    func malformedTaskIDIs404(_ id: String) async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let reply = try await api.request(.get, "/api/me/tasks/\(id)", token: token)
            #expect(reply.status == .notFound)
        }
    }

    @Test func listFiltersSortsAndPages() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            for (title, priority, tag) in [("b", "low", "x"), ("a", "high", "y"), ("d", "high", "x"), ("c", "none", "x")] {
                _ = try await api.createTask(token, #"{"title": "\#(title)", "priority": "\#(priority)", "tags": ["\#(tag)"]}"#)
            }
            let filtered = try await api.request(.get, "/api/me/tasks?priority=high&sort=title", token: token)
            #expect((filtered.object["items"] as? [[String: Any]])?.map { $0["title"] as? String } == ["a", "d"])
            var titles: [String] = []
            var path = "/api/me/tasks?tag=x&sort=-title&limit=2"
            while true {
                let page = try await api.request(.get, path, token: token)
                #expect(page.status == .ok)
                titles += (page.object["items"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String }
                guard let cursor = page.object["next_cursor"] as? String else { break }
                path = "/api/me/tasks?tag=x&sort=-title&limit=2&cursor=\(cursor)"
            }
            #expect(titles == ["d", "c", "b"])
        }
    }

    @Test(arguments: ["sort=random", "limit=500", "limit=-1", "status=done", "priority=urgent", "due_after=tomorrow",
                      "cursor=%00", "unknown=1", "sort=title%3B%20DROP%20TABLE%20tasks"])
    func badListParametersGet400(_ query: String) async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let reply = try await api.request(.get, "/api/me/tasks?\(query)", token: token)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "invalid_parameter")
        }
    }

    @Test func searchWithSQLMetacharactersIsJustText() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            _ = try await api.createTask(token, #"{"title": "Robert'); DROP TABLE tasks;--"}"#)
            let reply = try await api.request(.get, "/api/me/tasks?q=%27%29%3B%20DROP", token: token)
            #expect((reply.object["items"] as? [[String: Any]])?.count == 1)
            let none = try await api.request(.get, "/api/me/tasks?q=%27%20OR%20%271%27%3D%271", token: token)
            #expect((none.object["items"] as? [[String: Any]])?.isEmpty == true)
        }
    }
}
