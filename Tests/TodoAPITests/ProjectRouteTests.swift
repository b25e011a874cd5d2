import Foundation
import HTTPTypes
import Testing
import TodoAPI
import TodoCore

/// `/api/{user_id}/projects` and the tasks' places in projects.
@Suite struct ProjectRouteTests {
    static let projectKeys: Set<String> = [
        "id", "name", "color", "position", "archived", "is_inbox", "role", "open_count", "overdue_count", "created_at", "updated_at",
    ]

    private static func inbox(_ api: APIHarness, _ token: String) async throws -> [String: Any] {
        let items = try #require(try await api.request(.get, "/api/me/projects", token: token).object["items"] as? [[String: Any]])
        return try #require(items.first { $0["is_inbox"] as? Bool == true })
    }

    @Test func anAccountStartsWithAnInboxWhereTasksWithoutAProjectGo() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let list = try await api.request(.get, "/api/me/projects", token: token)
            #expect(list.status == .ok)
            let items = try #require(list.object["items"] as? [[String: Any]])
            #expect(items.count == 1)
            let inbox = try #require(items.first)
            #expect(Set(inbox.keys) == Self.projectKeys)
            #expect(inbox["name"] as? String == "Inbox" && inbox["role"] as? String == "owner" && inbox["color"] is NSNull)
            let task = try await api.createTask(token, #"{"title": "no project", "due_at": "2020-01-01T00:00:00Z"}"#)
            #expect(task["project_id"] as? String == inbox["id"] as? String)
            #expect(task["parent_id"] is NSNull && task["assignee_id"] is NSNull && task["position"] as? Double == 1024)
            let counted = try await api.request(.get, "/api/me/projects/\(inbox["id"] as! String)", token: token)
            #expect(counted.object["open_count"] as? Int == 1 && counted.object["overdue_count"] as? Int == 1)
        }
    }

    @Test func projectsAreCreatedChangedAndDeleted() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let created = try await api.request(.post, "/api/me/projects", token: token, body: ##"{"name": "  Work ", "color": "#3B82F6"}"##)
            #expect(created.status == .created)
            let id = try #require(created.object["id"] as? String)
            #expect(created.headers[.location] == "/api/me/projects/\(id)")
            #expect(created.object["name"] as? String == "Work" && created.object["color"] as? String == "#3b82f6")
            #expect(created.object["position"] as? Double == 2048 && created.object["is_inbox"] as? Bool == false)

            let patched = try await api.request(.patch, "/api/me/projects/\(id)", token: token,
                                                body: #"{"name": "Office", "color": null, "archived": true, "position": 512}"#)
            #expect(patched.status == .ok)
            #expect(patched.object["name"] as? String == "Office" && patched.object["color"] is NSNull)
            #expect(patched.object["archived"] as? Bool == true && patched.object["position"] as? Double == 512)
            let names = (try await api.request(.get, "/api/me/projects", token: token).object["items"] as? [[String: Any]])?.map { $0["name"] as? String }
            #expect(names == ["Office", "Inbox"])

            let task = try await api.createTask(token, #"{"title": "report", "project_id": "\#(id)"}"#)
            #expect(task["project_id"] as? String == id)
            let inProject = try await api.request(.get, "/api/me/tasks?project=\(id)", token: token)
            #expect((inProject.object["items"] as? [[String: Any]])?.map { $0["title"] as? String } == ["report"])

            #expect(try await api.request(.delete, "/api/me/projects/\(id)?tasks=move", token: token).status == .noContent)
            #expect(try await api.request(.get, "/api/me/projects/\(id)", token: token).status == .notFound)
            let moved = try await api.request(.get, "/api/me/tasks/\(task["id"] as! String)", token: token)
            #expect(moved.object["project_id"] as? String == (try await Self.inbox(api, token))["id"] as? String)
            #expect(moved.headers[.eTag] == "\"2\"")
            #expect(try await api.request(.get, "/api/me/tasks?project=\(id)", token: token).status == .notFound)

            let other = try await api.request(.post, "/api/me/projects", token: token, body: #"{"name": "Gone"}"#).object["id"] as! String
            let doomed = try await api.createTask(token, #"{"title": "doomed", "project_id": "\#(other)"}"#)
            #expect(try await api.request(.delete, "/api/me/projects/\(other)?tasks=delete", token: token).status == .noContent)
            #expect(try await api.request(.get, "/api/me/tasks/\(doomed["id"] as! String)", token: token).status == .notFound)
        }
    }

    @Test func theInboxIsNeverDeletedNorArchived() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let inbox = try #require(try await Self.inbox(api, token)["id"] as? String)
            let deleted = try await api.request(.delete, "/api/me/projects/\(inbox)", token: token)
            #expect(deleted.status == .conflict && deleted.errorCode == "inbox")
            let archived = try await api.request(.patch, "/api/me/projects/\(inbox)", token: token, body: #"{"archived": true}"#)
            #expect(archived.status == .unprocessableContent && archived.errorFields == ["archived"])
            let renamed = try await api.request(.patch, "/api/me/projects/\(inbox)", token: token, body: #"{"name": "Eingang"}"#)
            #expect(renamed.status == .ok && renamed.object["is_inbox"] as? Bool == true)
        }
    }

    @Test func badProjectInputIsRefusedNamingItsField() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            for (body, field) in [(#"{}"#, "name"), (#"{"name": ""}"#, "name"), (#"{"name": "x", "color": "blue"}"#, "color"),
                                  (##"{"name": "x", "colour": "#000000"}"##, "colour"), (#"{"name": "a\nb"}"#, "name"),
                                  (#"{"name": "x", "is_inbox": true}"#, "is_inbox")] {
                let reply = try await api.request(.post, "/api/me/projects", token: token, body: body)
                #expect(reply.status == .unprocessableContent && reply.errorFields == [field], "\(body)")
            }
            let id = try #require(try await api.request(.post, "/api/me/projects", token: token, body: #"{"name": "ok"}"#).object["id"] as? String)
            for (body, field) in [(#"{"position": "first"}"#, "position"), (#"{"archived": 1}"#, "archived")] {
                let reply = try await api.request(.patch, "/api/me/projects/\(id)", token: token, body: body)
                #expect(reply.status == .unprocessableContent && reply.errorFields == [field], "\(body)")
            }
            #expect(try await api.request(.delete, "/api/me/projects/\(id)?tasks=keep", token: token).status == .badRequest)
            #expect(try await api.request(.get, "/api/me/projects/abc", token: token).status == .notFound)
        }
    }

    @Test func anotherUsersProjectIsNotFoundAndTheirTasksCannotBePutThere() async throws {
        try await APIHarness.run { api in
            let ann = try await api.signUp(), bob = try await api.signUp()
            let id = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: #"{"name": "Ann's"}"#).object["id"] as? String)
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"name": "Bob's"}"#), (.delete, nil)] {
                #expect(try await api.request(method, "/api/me/projects/\(id)", token: bob.token, body: body).status == .notFound)
                #expect(try await api.request(method, "/api/\(ann.userID)/projects/\(id)", token: bob.token, body: body).status == .forbidden)
            }
            let refused = try await api.request(.post, "/api/me/tasks", token: bob.token, body: #"{"title": "x", "project_id": "\#(id)"}"#)
            #expect(refused.status == .unprocessableContent && refused.errorFields == ["project_id"])
            let bobs = try await api.createTask(bob.token, #"{"title": "bob's"}"#)
            let moved = try await api.request(.patch, "/api/me/tasks/\(bobs["id"] as! String)", token: bob.token, body: #"{"project_id": "\#(id)"}"#)
            #expect(moved.status == .unprocessableContent && moved.errorFields == ["project_id"])
            #expect(try await api.request(.get, "/api/me/tasks?project=\(id)", token: bob.token).status == .notFound)
            #expect(try await api.request(.get, "/api/me/projects/\(id)", token: ann.token).object["name"] as? String == "Ann's")
        }
    }

    @Test func aViewerReadsTheProjectButWritesNothingInIt() async throws {
        try await APIHarness.run { api in
            let ann = try await api.signUp(), vic = try await api.signUp()
            let id = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: #"{"name": "Shared"}"#).object["id"] as? String)
            let task = try await api.createTask(ann.token, #"{"title": "read me", "project_id": "\#(id)"}"#)
            let taskID = try #require(task["id"] as? String)
            #expect(try await api.storage.projects.setMember(vic.userID, role: .viewer, projectID: ProjectID(id)!, at: .now()))

            #expect(try await api.request(.get, "/api/me/tasks/\(taskID)", token: vic.token).object["title"] as? String == "read me")
            #expect(try await api.request(.get, "/api/me/projects/\(id)", token: vic.token).object["role"] as? String == "viewer")
            for (method, path, body) in [(HTTPRequest.Method.patch, "/api/me/tasks/\(taskID)", #"{"title": "mine"}"#),
                                         (.put, "/api/me/tasks/\(taskID)", #"{"title": "mine"}"#),
                                         (.patch, "/api/me/tasks/\(taskID)/complete", nil),
                                         (.delete, "/api/me/tasks/\(taskID)", nil),
                                         (.post, "/api/me/tasks", #"{"title": "new", "project_id": "\#(id)"}"#),
                                         (.patch, "/api/me/projects/\(id)", #"{"name": "renamed"}"#),
                                         (.delete, "/api/me/projects/\(id)", nil)] {
                let reply = try await api.request(method, path, token: vic.token, body: body)
                #expect(reply.status == .forbidden && reply.errorCode == "forbidden", "\(method) \(path)")
            }
            #expect(try await api.request(.patch, "/api/me/projects/\(id)", token: vic.token, body: #"{"position": 1}"#).status == .ok)
            let unchanged = try await api.request(.get, "/api/me/tasks/\(taskID)", token: ann.token)
            #expect(unchanged.object["title"] as? String == "read me" && unchanged.headers[.eTag] == "\"1\"")
            #expect(try await api.request(.get, "/api/me/projects/\(id)", token: ann.token).object["name"] as? String == "Shared")
        }
    }

    @Test func tasksAreOrderedByHandAndMovedBetweenProjects() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            var ids: [String] = []
            for title in ["a", "b", "c"] { ids.append(try #require(try await api.createTask(token, #"{"title": "\#(title)"}"#)["id"] as? String)) }
            let moved = try await api.request(.patch, "/api/me/tasks/\(ids[2])", token: token, body: #"{"position": 1536}"#)
            #expect(moved.status == .ok && moved.object["position"] as? Double == 1536)
            let ordered = try await api.request(.get, "/api/me/tasks?sort=position", token: token)
            #expect((ordered.object["items"] as? [[String: Any]])?.map { $0["title"] as? String } == ["a", "c", "b"])
            // The position of "a": "b" goes just before it, and the list is renumbered.
            let crowded = try await api.request(.patch, "/api/me/tasks/\(ids[1])", token: token, body: #"{"position": 1024}"#)
            #expect(crowded.status == .ok && crowded.object["position"] as? Double == 1024)
            let renumbered = try #require(try await api.request(.get, "/api/me/tasks?sort=position", token: token).object["items"] as? [[String: Any]])
            #expect(renumbered.map { $0["title"] as? String } == ["b", "a", "c"])
            #expect(renumbered.map { $0["position"] as? Double } == [1024, 2048, 3072])
            let project = try #require(try await api.request(.post, "/api/me/projects", token: token, body: #"{"name": "P"}"#).object["id"] as? String)
            let elsewhere = try await api.request(.patch, "/api/me/tasks/\(ids[0])", token: token, body: #"{"project_id": "\#(project)"}"#)
            #expect(elsewhere.object["project_id"] as? String == project && elsewhere.object["position"] as? Double == 1024)
            #expect(try await api.request(.get, "/api/me/tasks?sort=-position&project=\(project)", token: token).status == .ok)
            for query in ["project=x", "parent=y", "assignee=you"] {
                #expect(try await api.request(.get, "/api/me/tasks?\(query)", token: token).status == .badRequest, "\(query)")
            }
        }
    }

    @Test func subTasksStayInTheirParentsProjectAndNestAtMostFourDeep() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            var parent = try #require(try await api.createTask(token, #"{"title": "level 1"}"#)["id"] as? String)
            let top = parent
            for level in 2...4 {
                let child = try await api.request(.post, "/api/me/tasks", token: token, body: #"{"title": "level \#(level)", "parent_id": "\#(parent)"}"#)
                #expect(child.status == .created && child.object["parent_id"] as? String == parent)
                parent = try #require(child.object["id"] as? String)
            }
            let tooDeep = try await api.request(.post, "/api/me/tasks", token: token, body: #"{"title": "level 5", "parent_id": "\#(parent)"}"#)
            #expect(tooDeep.status == .unprocessableContent && tooDeep.errorFields == ["parent_id"])
            let cycle = try await api.request(.patch, "/api/me/tasks/\(top)", token: token, body: #"{"parent_id": "\#(parent)"}"#)
            #expect(cycle.status == .unprocessableContent && cycle.errorFields == ["parent_id"])
            let project = try #require(try await api.request(.post, "/api/me/projects", token: token, body: #"{"name": "P"}"#).object["id"] as? String)
            let elsewhere = try await api.request(.post, "/api/me/tasks", token: token,
                                                  body: #"{"title": "x", "parent_id": "\#(top)", "project_id": "\#(project)"}"#)
            #expect(elsewhere.status == .unprocessableContent && elsewhere.errorFields == ["parent_id"])
            let children = try await api.request(.get, "/api/me/tasks?parent=\(top)", token: token)
            #expect((children.object["items"] as? [[String: Any]])?.map { $0["title"] as? String } == ["level 2"])
            let roots = try await api.request(.get, "/api/me/tasks?parent=none", token: token)
            #expect((roots.object["items"] as? [[String: Any]])?.map { $0["title"] as? String } == ["level 1"])
            #expect(try await api.request(.delete, "/api/me/tasks/\(top)", token: token).status == .noContent)
            #expect((try await api.request(.get, "/api/me/tasks", token: token).object["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func completingAParentCompletesItsOpenSubTasksAtEveryLevel() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let parent = try #require(try await api.createTask(token, #"{"title": "move house"}"#)["id"] as? String)
            let child = try #require(try await api.createTask(token, #"{"title": "pack", "parent_id": "\#(parent)"}"#)["id"] as? String)
            let grandchild = try #require(try await api.createTask(token, #"{"title": "books", "parent_id": "\#(child)"}"#)["id"] as? String)
            let unrelated = try #require(try await api.createTask(token, #"{"title": "unrelated"}"#)["id"] as? String)
            #expect(try await api.request(.patch, "/api/me/tasks/\(parent)/complete", token: token).object["completed"] as? Bool == true)
            for id in [child, grandchild] {
                let read = try await api.request(.get, "/api/me/tasks/\(id)", token: token)
                #expect(read.object["completed"] as? Bool == true && read.object["completed_at"] is String && read.headers[.eTag] == "\"2\"")
            }
            #expect(try await api.request(.get, "/api/me/tasks/\(unrelated)", token: token).object["completed"] as? Bool == false)
        }
    }

    @Test func aRecurringParentsNextOccurrenceGetsItsSubTasksReopened() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let parent = try #require(try await api.createTask(token, #"""
                {"title": "clean", "due_at": "2030-01-01T09:00:00Z", "recurrence": {"frequency": "weekly"}}
                """#)["id"] as? String)
            _ = try await api.createTask(token, #"{"title": "kitchen", "parent_id": "\#(parent)", "due_at": "2030-01-01T08:00:00Z"}"#)
            _ = try await api.createTask(token, #"{"title": "bath", "parent_id": "\#(parent)"}"#)
            _ = try await api.request(.patch, "/api/me/tasks/\(parent)/complete", token: token)
            let open = try await api.request(.get, "/api/me/tasks?status=pending&parent=none", token: token)
            let next = try #require((open.object["items"] as? [[String: Any]])?.first)
            #expect(next["title"] as? String == "clean" && next["due_at"] as? String == "2030-01-08T09:00:00.000Z")
            let children = try await api.request(.get, "/api/me/tasks?sort=position&parent=\(next["id"] as! String)", token: token)
            let items = try #require(children.object["items"] as? [[String: Any]])
            #expect(items.map { $0["title"] as? String } == ["kitchen", "bath"])
            #expect(items.allSatisfy { $0["completed"] as? Bool == false })
            #expect(items.first?["due_at"] as? String == "2030-01-08T08:00:00.000Z")
        }
    }
}
