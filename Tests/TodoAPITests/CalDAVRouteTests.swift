import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TodoCore
import TodoStore

/// CalDAV's calendars per project, through the router: which calendars a member sees, what a
/// role allows, syncs per calendar and sub-tasks as `RELATED-TO`.
@Suite struct CalDAVRouteTests {
    /// A signed-up user with a personal token, as a CalDAV client signs in.
    struct Member {
        let token: String
        let userID: String
        let basic: String

        init(_ api: APIHarness) async throws {
            let email = "dav-\(UUID().uuidString.prefix(8))@example.com"
            (token, userID) = try await api.signUp(email)
            let created = try await api.request(.post, "/api/tokens", token: token, body: #"{"name": "caldav"}"#)
            let secret = try #require(created.object["token"] as? String)
            basic = "Basic " + Data("\(email):\(secret)".utf8).base64EncodedString()
        }

        func calendar(_ segment: String) -> String { "/dav/calendars/\(userID)/\(segment)/" }
    }

    static func dav(
        _ api: APIHarness, _ member: Member, _ method: String, _ path: String, body: String = "", headers: HTTPFields = [:]
    ) async throws -> APIHarness.Reply {
        var headers = headers
        headers[.authorization] = member.basic
        headers[HTTPField.Name("Depth")!] = headers[HTTPField.Name("Depth")!] ?? "1"
        return try await api.client.execute(
            uri: path, method: HTTPRequest.Method(method)!, headers: headers, body: ByteBuffer(string: body)
        ) { APIHarness.Reply(status: $0.status, headers: $0.headers, body: $0.body) }
    }

    static func vtodo(_ uid: String, _ lines: String...) -> String {
        (["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN", "BEGIN:VTODO", "UID:\(uid)", "DTSTAMP:20261201T080000Z"] + lines
            + ["END:VTODO", "END:VCALENDAR"]).joined(separator: "\r\n") + "\r\n"
    }

    static func put(_ api: APIHarness, _ member: Member, _ path: String, _ text: String) async throws -> APIHarness.Reply {
        try await dav(api, member, "PUT", path, body: text, headers: [.contentType: "text/calendar"])
    }

    static func project(_ api: APIHarness, _ member: Member, _ body: String) async throws -> String {
        let created = try await api.request(.post, "/api/me/projects", token: member.token, body: body)
        #expect(created.status == .created, "\(created.text)")
        return try #require(created.object["id"] as? String)
    }

    static func task(_ api: APIHarness, _ member: Member, _ id: String) async throws -> [String: Any] {
        let reply = try await api.request(.get, "/api/me/tasks/\(id)", token: member.token)
        #expect(reply.status == .ok, "\(reply.text)")
        return reply.object
    }

    /// A sync-collection report; the answer and the token it ends with.
    static func sync(_ api: APIHarness, _ member: Member, _ path: String, token: String = "") async throws -> (APIHarness.Reply, String?) {
        let body = """
            <d:sync-collection xmlns:d="DAV:"><d:sync-token>\(token)</d:sync-token><d:sync-level>1</d:sync-level>\
            <d:prop><d:getetag/></d:prop></d:sync-collection>
            """
        let reply = try await dav(api, member, "REPORT", path, body: body)
        let next = reply.text.firstMatch(of: /<d:sync-token>([^<]*)<\/d:sync-token>/).map { String($0.1) }
        return (reply, next)
    }

    /// The `<d:response>` of `href` in a multistatus, if any.
    static func response(_ text: String, href: String) -> String? {
        text.components(separatedBy: "<d:response>").first { $0.hasPrefix("<d:href>\(href)</d:href>") }
    }

    @Test func theHomeListsACalendarPerProjectButNotArchivedOnes() async throws {
        try await APIHarness.run { api in
            let member = try await Member(api)
            let work = try await Self.project(api, member, ##"{"name": "Work & Play", "color": "#3b82f6"}"##)
            let old = try await Self.project(api, member, #"{"name": "Old"}"#)
            _ = try await api.request(.patch, "/api/me/projects/\(old)", token: member.token, body: #"{"archived": true}"#)

            let home = try await Self.dav(api, member, "PROPFIND", "/dav/calendars/\(member.userID)/")
            #expect(home.status.code == 207)
            let inbox = try #require(Self.response(home.text, href: member.calendar("inbox")))
            #expect(inbox.contains("<d:displayname>Inbox</d:displayname>") && inbox.contains("<c:calendar/>"))
            let calendar = try #require(Self.response(home.text, href: member.calendar(work)))
            #expect(calendar.contains("<d:displayname>Work &amp; Play</d:displayname>"))
            #expect(calendar.contains("<a:calendar-color>#3B82F6FF</a:calendar-color>"))
            #expect(calendar.contains("<d:sync-token>http://todo.invalid/ns/sync/project/\(work)/0</d:sync-token>"))
            #expect(calendar.contains("<cs:getctag>http://todo.invalid/ns/sync/project/\(work)/0</cs:getctag>"))
            #expect(!home.text.contains(member.calendar(old)))
            #expect(try await Self.dav(api, member, "PROPFIND", member.calendar(old)).status == .notFound)

            // The Inbox has one address only.
            let projects = try await api.request(.get, "/api/me/projects", token: member.token).object["items"] as? [[String: Any]]
            let inboxID = try #require(projects?.first { $0["is_inbox"] as? Bool == true }?["id"] as? String)
            #expect(try await Self.dav(api, member, "PROPFIND", member.calendar(inboxID)).status == .notFound)
        }
    }

    @Test func aCalendarHoldsItsProjectsTasksAndRolesDecideWhatAMemberMayDo() async throws {
        try await APIHarness.run { api in
            let owner = try await Member(api)
            let viewer = try await Member(api)
            let stranger = try await Member(api)
            let home = try await Self.project(api, owner, #"{"name": "Home"}"#)
            #expect(try await api.storage.projects.setMember(viewer.userID, role: .viewer, projectID: ProjectID(home)!, at: .now()))

            let put = try await Self.put(api, owner, owner.calendar(home) + "plants.ics", Self.vtodo("plants", "SUMMARY:Water the plants"))
            #expect(put.status == .created, "\(put.text)")
            let listed = try await api.request(.get, "/api/me/tasks?project=\(home)", token: owner.token).object["items"] as? [[String: Any]]
            let task = try #require(listed?.first)
            #expect(task["title"] as? String == "Water the plants" && task["project_id"] as? String == home)
            #expect(try await Self.dav(api, owner, "GET", owner.calendar(home) + "plants.ics").status == .ok)
            #expect(try await Self.dav(api, owner, "GET", owner.calendar("inbox") + "plants.ics").status == .notFound)
            let inboxListing = try await Self.dav(api, owner, "PROPFIND", owner.calendar("inbox"))
            #expect(!inboxListing.text.contains("plants"))

            // The viewer reads the task under its default name, and may not write.
            let id = try #require(task["id"] as? String)
            let path = viewer.calendar(home) + "\(id).ics"
            let read = try await Self.dav(api, viewer, "GET", path)
            #expect(read.status == .ok && read.text.contains("SUMMARY:Water the plants"))
            let refused = try await Self.put(api, viewer, path, Self.vtodo("task-\(id)@todo", "SUMMARY:Mine now"))
            #expect(refused.status == .forbidden)
            #expect(try await Self.put(api, viewer, viewer.calendar(home) + "new.ics", Self.vtodo("new", "SUMMARY:New")).status == .forbidden)
            #expect(try await Self.dav(api, viewer, "DELETE", path).status == .forbidden)
            #expect(try await Self.task(api, owner, id)["title"] as? String == "Water the plants")
            let privileges = try await Self.dav(api, viewer, "PROPFIND", viewer.calendar(home), headers: [HTTPField.Name("Depth")!: "0"])
            #expect(privileges.text.contains("<d:read/>") && !privileges.text.contains("<d:write/>"))

            // Someone not a member finds nothing, not even under their own home.
            #expect(try await Self.dav(api, stranger, "PROPFIND", stranger.calendar(home)).status == .notFound)
            #expect(try await Self.dav(api, stranger, "GET", stranger.calendar(home) + "\(id).ics").status == .notFound)
            #expect(try await Self.put(api, stranger, stranger.calendar(home) + "x.ics", Self.vtodo("x", "SUMMARY:X")).status == .notFound)
            #expect(try await Self.dav(api, stranger, "PROPFIND", owner.calendar(home)).status == .notFound)
        }
    }

    @Test func aMoveBetweenProjectsIsADeletionInOneSyncAndAnAdditionInTheOther() async throws {
        try await APIHarness.run { api in
            let owner = try await Member(api)
            let editor = try await Member(api)
            let a = try await Self.project(api, owner, #"{"name": "A"}"#)
            let b = try await Self.project(api, owner, #"{"name": "B"}"#)
            #expect(try await api.storage.projects.setMember(editor.userID, role: .editor, projectID: ProjectID(a)!, at: .now()))
            #expect(try await Self.put(api, owner, owner.calendar(a) + "move-me.ics", Self.vtodo("move-me", "SUMMARY:Move me")).status == .created)
            let (_, tokenA) = try await Self.sync(api, owner, owner.calendar(a))
            let (_, tokenB) = try await Self.sync(api, owner, owner.calendar(b))
            let (fullA, _) = try await Self.sync(api, owner, owner.calendar(a))
            #expect(Self.response(fullA.text, href: owner.calendar(a) + "move-me.ics") != nil)

            // The editor's change shows in the owner's sync of the shared project.
            let listed = try await api.request(.get, "/api/me/tasks?project=\(a)", token: owner.token).object["items"] as? [[String: Any]]
            let id = try #require(listed?.first?["id"] as? String)
            let renamed = try await api.request(.patch, "/api/me/tasks/\(id)", token: editor.token, body: #"{"title": "Moved"}"#)
            #expect(renamed.status == .ok)
            let (changed, tokenAfterRename) = try await Self.sync(api, owner, owner.calendar(a), token: try #require(tokenA))
            #expect(Self.response(changed.text, href: owner.calendar(a) + "move-me.ics")?.contains("200 OK") == true)

            let moved = try await api.request(.patch, "/api/me/tasks/\(id)", token: owner.token, body: #"{"project_id": "\#(b)"}"#)
            #expect(moved.status == .ok, "\(moved.text)")
            let (left, _) = try await Self.sync(api, owner, owner.calendar(a), token: try #require(tokenAfterRename))
            #expect(Self.response(left.text, href: owner.calendar(a) + "move-me.ics")?.contains("404 Not Found") == true)
            let (arrived, _) = try await Self.sync(api, owner, owner.calendar(b), token: try #require(tokenB))
            let added = try #require(Self.response(arrived.text, href: owner.calendar(b) + "move-me.ics"))
            #expect(added.contains("200 OK") && added.contains("<d:getetag>"))
            #expect(try await Self.dav(api, owner, "GET", owner.calendar(b) + "move-me.ics").status == .ok)
            #expect(try await Self.dav(api, owner, "GET", owner.calendar(a) + "move-me.ics").status == .notFound)
            // The editor, no member of B, sees the task leave A and nothing of B.
            let (editorsA, _) = try await Self.sync(api, editor, editor.calendar(a), token: try #require(tokenAfterRename))
            #expect(Self.response(editorsA.text, href: editor.calendar(a) + "\(id).ics")?.contains("404 Not Found") == true)
            #expect(try await Self.dav(api, editor, "PROPFIND", editor.calendar(b)).status == .notFound)

            // A token of the time of one calendar per user, or of another calendar: start over.
            for stale in ["http://todo.invalid/ns/sync/1", try #require(tokenB)] {
                let (refused, _) = try await Self.sync(api, owner, owner.calendar(a), token: stale)
                #expect(refused.status == .forbidden && refused.text.contains("valid-sync-token"))
            }
        }
    }

    /// Clients move a to-do by storing it in the new calendar, then deleting it from the old.
    @Test func aToDoStoredInAnotherCalendarUnderItsUIDMovesThere() async throws {
        try await APIHarness.run { api in
            let member = try await Member(api)
            let a = try await Self.project(api, member, #"{"name": "A"}"#)
            let b = try await Self.project(api, member, #"{"name": "B"}"#)
            #expect(try await Self.put(api, member, member.calendar(a) + "walk.ics", Self.vtodo("walk", "SUMMARY:Walk")).status == .created)
            let id = try #require(
                (try await api.request(.get, "/api/me/tasks?project=\(a)", token: member.token).object["items"] as? [[String: Any]])?.first?["id"]
                    as? String)
            let (_, tokenA) = try await Self.sync(api, member, member.calendar(a))
            let stored = try await Self.dav(
                api, member, "PUT", member.calendar(b) + "walk-moved.ics", body: Self.vtodo("walk", "SUMMARY:Walk the dog"),
                headers: [.contentType: "text/calendar", .ifNoneMatch: "*"])
            #expect(stored.status == .created)
            let task = try await Self.task(api, member, id)
            #expect(task["project_id"] as? String == b && task["title"] as? String == "Walk the dog")
            #expect(try await Self.dav(api, member, "DELETE", member.calendar(a) + "walk.ics").status == .notFound)
            #expect(try await Self.dav(api, member, "GET", member.calendar(b) + "walk-moved.ics").status == .ok)
            // A's sync names it gone, under the name it has now (the client has deleted it already).
            let (left, _) = try await Self.sync(api, member, member.calendar(a), token: try #require(tokenA))
            #expect(Self.response(left.text, href: member.calendar(a) + "walk-moved.ics")?.contains("404 Not Found") == true)
            let everything = try await api.request(.get, "/api/me/tasks", token: member.token).object["items"] as? [[String: Any]]
            #expect(everything?.count == 1)  // moved, not copied
        }
    }

    @Test func relatedToIsTheParentBothWays() async throws {
        try await APIHarness.run { api in
            let member = try await Member(api)
            let work = try await Self.project(api, member, #"{"name": "Work"}"#)
            let calendar = member.calendar(work)
            #expect(try await Self.put(api, member, calendar + "parent.ics", Self.vtodo("parent-uid", "SUMMARY:Report")).status == .created)
            let child = Self.vtodo("child-uid", "SUMMARY:Figures", "RELATED-TO;RELTYPE=PARENT:parent-uid")
            let put = try await Self.put(api, member, calendar + "child.ics", child)
            #expect(put.status == .created, "\(put.text)")
            let items = try #require(try await api.request(.get, "/api/me/tasks?project=\(work)", token: member.token).object["items"] as? [[String: Any]])
            let parent = try #require(items.first { $0["title"] as? String == "Report" })
            let stored = try #require(items.first { $0["title"] as? String == "Figures" })
            #expect(stored["parent_id"] as? String == parent["id"] as? String)
            let fetched = try await Self.dav(api, member, "GET", calendar + "child.ics")
            #expect(fetched.text.contains("RELATED-TO;RELTYPE=PARENT:parent-uid\r\n"))

            // A sub-task made through the API names its parent by the parent's UID; one of its own
            // names the API's parent by the default UID.
            let parentID = try #require(parent["id"] as? String)
            let fromAPI = try await api.createTask(member.token, #"{"title": "Charts", "parent_id": "\#(parentID)"}"#)
            let charts = try await Self.dav(api, member, "GET", calendar + "\(fromAPI["id"] as! String).ics")
            #expect(charts.text.contains("RELATED-TO;RELTYPE=PARENT:parent-uid\r\n"))
            let top = try await api.createTask(member.token, #"{"title": "Top", "project_id": "\#(work)"}"#)
            let topID = try #require(top["id"] as? String)
            let under = try await Self.put(
                api, member, calendar + "under.ics", Self.vtodo("under", "SUMMARY:Under", "RELATED-TO:task-\(topID)@todo"))
            #expect(under.status == .created)
            let underTask = try #require(
                (try await api.request(.get, "/api/me/tasks?project=\(work)&parent=\(topID)", token: member.token).object["items"] as? [[String: Any]])?
                    .first)
            #expect(underTask["title"] as? String == "Under")

            // Without RELATED-TO the sub-task is one no more.
            #expect(try await Self.put(api, member, calendar + "child.ics", Self.vtodo("child-uid", "SUMMARY:Figures")).status == .noContent)
            #expect(try await Self.task(api, member, stored["id"] as! String)["parent_id"] is NSNull)

            // A parent not in this calendar, or no task at all: refused, nothing stored.
            let inboxTask = try await api.createTask(member.token, #"{"title": "Elsewhere"}"#)
            let count = items.count + 3  // with Charts, Top and Under
            for parentUID in ["no-such-uid", "task-\(inboxTask["id"] as! String)@todo"] {
                let refused = try await Self.put(
                    api, member, calendar + "orphan.ics", Self.vtodo("orphan", "SUMMARY:Orphan", "RELATED-TO;RELTYPE=PARENT:\(parentUID)"))
                #expect(refused.status == .unprocessableContent && refused.text.contains("RELATED-TO"), "\(refused.text)")
            }
            let after = try await api.request(.get, "/api/me/tasks?project=\(work)", token: member.token).object["items"] as? [[String: Any]]
            #expect(after?.count == count)
            // One of its own sub-tasks as parent: a cycle, refused by the task rules.
            let cycle = try await Self.put(
                api, member, calendar + "parent.ics",
                Self.vtodo("parent-uid", "SUMMARY:Report", "RELATED-TO;RELTYPE=PARENT:task-\(fromAPI["id"] as! String)@todo"))
            #expect(cycle.status == .unprocessableContent, "\(cycle.text)")
            #expect(try await Self.task(api, member, parentID)["parent_id"] is NSNull)
        }
    }
}
