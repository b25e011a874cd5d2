import Foundation
import HTTPTypes
import Testing
@testable import TodoAPI
import TodoCore

/// Sharing a project (SPEC 9): who may do what in it, invitations, members, assignees, and whose
/// live streams hear of its changes; on both databases.
@Suite struct SharingRouteTests {
    enum Role: String, CaseIterable { case owner, editor, viewer, removed, stranger }

    /// One project shared by its owner with an editor, a viewer and a member since removed, plus
    /// a stranger; a task of the owner's in it.
    struct Team {
        var tokens: [Role: String] = [:]
        var ids: [Role: String] = [:]
        var project = ""
        var task = ""

        static func make(_ api: APIHarness) async throws -> Team {
            var team = Team()
            for role in Role.allCases {
                let (token, id) = try await api.signUp()
                team.tokens[role] = token
                team.ids[role] = id
            }
            team.project = try #require(
                try await api.request(.post, "/api/me/projects", token: team.tokens[.owner], body: #"{"name": "Household"}"#).object["id"] as? String)
            for role in [Role.editor, .viewer, .removed] {
                try await team.join(api, as: role, with: role == .viewer ? "viewer" : "editor")
            }
            let removed = try await api.request(.delete, "/api/me/projects/\(team.project)/members/\(team.ids[.removed]!)", token: team.tokens[.owner])
            #expect(removed.status == .noContent)
            team.task = try #require(try await api.createTask(team.tokens[.owner]!, #"{"title": "milk", "project_id": "\#(team.project)"}"#)["id"] as? String)
            return team
        }

        /// Invites `role`'s account by e-mail and accepts as it.
        func join(_ api: APIHarness, as role: Role, with projectRole: String) async throws {
            let email = try #require((try await api.request(.get, "/api/auth/me", token: tokens[role]).object["email"] as? String))
            let invited = try await api.request(.post, "/api/me/projects/\(project)/invitations", token: tokens[.owner],
                                                body: #"{"email": "\#(email.uppercased())", "role": "\#(projectRole)"}"#)
            #expect(invited.status == .accepted)
            // Open sign-up proves no address: the link claims the invitation.
            let link = try SharingRouteTests.claim(try #require(invited.object["accept_url"] as? String))
            let accepted = try await api.request(.post, "/api/me/invitations/\(link.id)/accept", token: tokens[role], body: link.body)
            #expect(accepted.status == .ok && accepted.object["role"] as? String == projectRole)
        }

        /// Everything the owner sees of the project: a refused request must leave it as it was.
        func snapshot(_ api: APIHarness) async throws -> String {
            let owner = tokens[.owner]
            var text = ""
            for path in ["/api/me/projects/\(project)", "/api/me/tasks?project=\(project)", "/api/me/projects/\(project)/members"] {
                text += try await api.request(.get, path, token: owner).text + "\n"
            }
            return text
        }
    }

    /// Each operation, and its status for each role (`nil`: allowed with the first status).
    struct Operation: Sendable {
        var name: String
        var method: HTTPRequest.Method
        var path: @Sendable (Team) -> String
        var body: @Sendable (Team) -> String?
        var allowed: HTTPResponse.Status
        var refused: [Role: HTTPResponse.Status]
    }

    static let reader: [Role: HTTPResponse.Status] = [.removed: .notFound, .stranger: .notFound]
    static let writer: [Role: HTTPResponse.Status] = [.viewer: .forbidden, .removed: .notFound, .stranger: .notFound]
    static let owner: [Role: HTTPResponse.Status] = [.editor: .forbidden, .viewer: .forbidden, .removed: .notFound, .stranger: .notFound]

    static let operations: [Operation] = [
        Operation(name: "read", method: .get, path: { "/api/me/tasks/\($0.task)" }, body: { _ in nil }, allowed: .ok, refused: reader),
        Operation(name: "list", method: .get, path: { "/api/me/tasks?project=\($0.project)" }, body: { _ in nil }, allowed: .ok, refused: reader),
        // A project named in a body that is not the caller's is a bad field, as before sharing.
        Operation(name: "create", method: .post, path: { _ in "/api/me/tasks" }, body: { #"{"title": "eggs", "project_id": "\#($0.project)"}"# },
                  allowed: .created, refused: [.viewer: .forbidden, .removed: .unprocessableContent, .stranger: .unprocessableContent]),
        Operation(name: "edit", method: .patch, path: { "/api/me/tasks/\($0.task)" }, body: { _ in #"{"title": "oat milk"}"# },
                  allowed: .ok, refused: writer),
        Operation(name: "complete", method: .patch, path: { "/api/me/tasks/\($0.task)/complete" }, body: { _ in nil }, allowed: .ok, refused: writer),
        Operation(name: "delete", method: .delete, path: { "/api/me/tasks/\($0.task)" }, body: { _ in nil }, allowed: .noContent, refused: writer),
        Operation(name: "assign", method: .patch, path: { "/api/me/tasks/\($0.task)" }, body: { #"{"assignee_id": "\#($0.ids[.editor]!)"}"# },
                  allowed: .ok, refused: writer),
        Operation(name: "share", method: .post, path: { "/api/me/projects/\($0.project)/invitations" },
                  body: { _ in #"{"email": "newcomer@example.com", "role": "viewer"}"# }, allowed: .accepted, refused: owner),
        Operation(name: "rename", method: .patch, path: { "/api/me/projects/\($0.project)" }, body: { _ in #"{"name": "Flat"}"# },
                  allowed: .ok, refused: owner),
        Operation(name: "delete project", method: .delete, path: { "/api/me/projects/\($0.project)" }, body: { _ in nil },
                  allowed: .noContent, refused: owner),
    ]

    /// 5 roles × 10 operations: the exact status; for a refusal, that the project, its tasks,
    /// its members and its invitations are as they were; for an allowed write, that they are not.
    /// A harness that lets this suite sign up its many accounts (the matrix makes 145).
    static func run(_ database: TestDatabase, _ body: @escaping @Sendable (APIHarness) async throws -> Void) async throws {
        try await APIHarness.run(
            on: database, configure: { $0.signUpAddressLimit = 100_000; $0.signUpLimit = 100_000 }, testing: database == .postgres ? .live : .router,
            body)
    }

    @Test(arguments: TestDatabase.available)
    func permissionMatrix(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            for operation in Self.operations {
                let shared = try await Team.make(api)
                for role in Role.allCases {
                    // An allowed cell changes things: on a team of its own, so that each starts alike.
                    let team = operation.refused[role] == nil ? try await Team.make(api) : shared
                    let before = try await team.snapshot(api)
                    let reply = try await api.request(operation.method, operation.path(team), token: team.tokens[role], body: operation.body(team))
                    let expected = operation.refused[role] ?? operation.allowed
                    #expect(reply.status == expected, "\(role) \(operation.name): \(reply.text)")
                    if operation.refused[role] != nil {
                        #expect(try await team.snapshot(api) == before, "\(role) \(operation.name) changed something")
                    } else if operation.method != .get {
                        #expect(try await team.snapshot(api) != before, "\(role) \(operation.name) changed nothing")
                    }
                }
            }
        }
    }

    @Test(arguments: TestDatabase.available)
    func anInvitationTellsNothingAboutTheAddressAndIsAcceptedOrDeclinedByItsInviteeOnly(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let ann = try await api.signUp(), bobEmail = "bob-\(UUID().uuidString.prefix(8).lowercased())@example.com"
            var bob = try await api.signUp(bobEmail)
            let eve = try await api.signUp()
            bob.token = try await Self.proveAddress(of: bob.userID, email: bobEmail, api)
            let project = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: #"{"name": "Trip"}"#).object["id"] as? String)
            let invitations = "/api/me/projects/\(project)/invitations"
            let latecomer = "late-\(UUID().uuidString.prefix(8).lowercased())@example.com"
            var links: [String: String] = [:]
            for email in [bobEmail.uppercased(), latecomer, bobEmail] {
                let reply = try await api.request(.post, invitations, token: ann.token, body: #"{"email": "\#(email)", "role": "editor"}"#)
                #expect(reply.status == .accepted)
                #expect(Set(reply.object.keys) == ["id", "email", "role", "created_at", "accept_url", "mailed"], "the same answer with or without an account")
                #expect(reply.object["mailed"] as? Bool == false, "this server sends no mail")
                links[email.lowercased()] = try #require(reply.object["accept_url"] as? String)
            }
            let listed = try await api.request(.get, "/api/me/projects/\(project)/members", token: ann.token).object
            let pending = try #require(listed["invitations"] as? [[String: Any]])
            #expect(pending.map { $0["email"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == [bobEmail, latecomer].sorted().map(Optional.some))
            #expect(Set(pending.first?.keys.map { $0 } ?? []) == ["id", "email", "role", "created_at"])

            let received = try await api.request(.get, "/api/me/invitations", token: bob.token).object["items"] as? [[String: Any]]
            let invitation = try #require(received?.first)
            #expect(received?.count == 1 && invitation["role"] as? String == "editor")
            #expect((invitation["project"] as? [String: Any])?["name"] as? String == "Trip")
            #expect((invitation["invited_by"] as? [String: Any])?.keys.sorted() == ["email", "name"])
            let id = try #require(invitation["id"] as? String)
            #expect((try await api.request(.get, "/api/me/invitations", token: eve.token).object["items"] as? [Any])?.isEmpty == true)
            #expect(try await api.request(.post, "/api/me/invitations/\(id)/accept", token: eve.token).status == .notFound)
            #expect(try await api.request(.post, "/api/me/invitations/\(id)/decline", token: eve.token).status == .notFound)
            // An invitation bound to Bob's account is his alone, even with its link.
            let bobLink = try Self.claim(links[bobEmail]!)
            #expect(bobLink.id == id)
            #expect(try await api.request(.post, "/api/me/invitations/\(id)/accept", token: eve.token, body: bobLink.body).status == .notFound)

            let accepted = try await api.request(.post, "/api/me/invitations/\(id)/accept", token: bob.token)
            #expect(accepted.status == .ok && accepted.object["id"] as? String == project && accepted.object["role"] as? String == "editor")
            #expect(Set(accepted.object.keys) == ProjectRouteTests.projectKeys)
            #expect(try await api.request(.post, "/api/me/invitations/\(id)/accept", token: bob.token).status == .notFound)
            let members = try await api.request(.get, "/api/me/projects/\(project)/members", token: bob.token).object
            #expect((members["items"] as? [[String: Any]])?.compactMap { $0["role"] as? String } == ["owner", "editor"])
            #expect((members["invitations"] as? [Any])?.isEmpty == true, "invitations are listed to owners only")
            let again = try await api.request(.post, invitations, token: ann.token, body: #"{"email": "\#(bobEmail)", "role": "viewer"}"#)
            #expect(again.status == .conflict && again.errorCode == "already_member")
            #expect((try await api.request(.get, "/api/me/invitations", token: bob.token).object["items"] as? [Any])?.isEmpty == true)
        }
    }

    /// Open sign-up proves no address: a hostile user who registers an address before or after
    /// it is invited gains nothing. Only the invitation's link claims it, and inviting again
    /// replaces the link.
    @Test(arguments: TestDatabase.available)
    func anAddressRegisteredAfterTheInvitationDoesNotClaimItOnlyTheLinkDoes(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let ann = try await api.signUp()
            let project = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: #"{"name": "Trip"}"#).object["id"] as? String)
            let invitations = "/api/me/projects/\(project)/invitations", address = "carol-\(UUID().uuidString.prefix(8).lowercased())@example.com"
            let hostile = try await api.signUp(address)
            let first = try Self.claim(try #require(
                try await api.request(.post, invitations, token: ann.token, body: #"{"email": "\#(address)", "role": "editor"}"#).object["accept_url"] as? String))
            #expect((try await api.request(.get, "/api/me/invitations", token: hostile.token).object["items"] as? [Any])?.isEmpty == true)
            for action in ["accept", "decline"] {
                #expect(try await api.request(.post, "/api/me/invitations/\(first.id)/\(action)", token: hostile.token).status == .notFound)
                let guessed = #"{"token": "\#(SecretTokens.random())"}"#
                #expect(try await api.request(.post, "/api/me/invitations/\(first.id)/\(action)", token: hostile.token, body: guessed).status == .notFound)
            }
            #expect(try await api.request(.get, "/api/me/projects/\(project)", token: hostile.token).status == .notFound)

            // Inviting again replaces the link: the first stops working. The new one works once.
            let second = try Self.claim(try #require(
                try await api.request(.post, invitations, token: ann.token, body: #"{"email": "\#(address)", "role": "viewer"}"#).object["accept_url"] as? String))
            let carol = try await api.signUp()
            #expect(try await api.request(.post, "/api/me/invitations/\(first.id)/accept", token: carol.token, body: first.body).status == .notFound)
            let bad = try await api.request(.post, "/api/me/invitations/\(second.id)/accept", token: carol.token, body: #"{"token": 3}"#)
            #expect(bad.status == .unprocessableContent && bad.errorFields == ["token"])
            let joined = try await api.request(.post, "/api/me/invitations/\(second.id)/accept", token: carol.token, body: second.body)
            #expect(joined.status == .ok && joined.object["role"] as? String == "viewer")
            #expect(try await api.request(.post, "/api/me/invitations/\(second.id)/decline", token: carol.token, body: second.body).status == .notFound)

            // An unclaimed link declines too.
            let third = try Self.claim(try #require(
                try await api.request(.post, invitations, token: ann.token, body: #"{"email": "dan@example.com", "role": "editor"}"#).object["accept_url"] as? String))
            #expect(try await api.request(.post, "/api/me/invitations/\(third.id)/decline", token: carol.token, body: third.body).status == .noContent)
            #expect((try await api.request(.get, "/api/me/projects/\(project)/members", token: ann.token).object["invitations"] as? [Any])?.isEmpty == true)
        }
    }

    /// Proves the account's address the way a user can, through a password-reset link (as if
    /// mailed); returns a new log-in, the reset having ended the others.
    static func proveAddress(of userID: String, email: String, _ api: APIHarness) async throws -> String {
        let link = try #require(try await PasswordResetLinks(store: api.storage.passwordResets, webURL: "https://todo.example").make(for: userID))
        let token = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "token" }?.value)
        let reset = try await api.request(.post, "/api/auth/reset", body: #"{"token": "\#(token)", "new_password": "correct horse"}"#)
        #expect(reset.status == .noContent)
        return try await api.logIn(email)
    }

    /// The invitation id and the body that claims it with the token, from an `accept_url`.
    static func claim(_ link: String) throws -> (id: String, body: String) {
        let components = try #require(URLComponents(string: link))
        let id = try #require(components.path.split(separator: "/").last.map(String.init))
        let token = try #require(components.queryItems?.first { $0.name == "token" }?.value)
        #expect(components.path == "/invitations/\(id)")
        return (id, #"{"token": "\#(token)"}"#)
    }

    @Test(arguments: TestDatabase.available)
    func badInvitationsAreRefusedAndTheInboxIsNeverShared(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let ann = try await api.signUp()
            let project = try #require(try await api.request(.post, "/api/me/projects", token: ann.token, body: #"{"name": "P"}"#).object["id"] as? String)
            for (body, fields) in [(#"{"email": "nobody", "role": "editor"}"#, ["email"]), (#"{"email": "a@example.com", "role": "admin"}"#, ["role"]),
                                   (#"{"email": "a@example.com"}"#, ["role"]), (#"{"role": "viewer", "email": 3, "x": 1}"#, ["x", "email"])] {
                let reply = try await api.request(.post, "/api/me/projects/\(project)/invitations", token: ann.token, body: body)
                #expect(reply.status == .unprocessableContent && Set(reply.errorFields) == Set(fields), "\(body): \(reply.text)")
            }
            let inbox = try #require((try await api.request(.get, "/api/me/projects", token: ann.token).object["items"] as? [[String: Any]])?
                .first { $0["is_inbox"] as? Bool == true }?["id"] as? String)
            let shared = try await api.request(.post, "/api/me/projects/\(inbox)/invitations", token: ann.token, body: #"{"email": "b@example.com", "role": "viewer"}"#)
            #expect(shared.status == .conflict && shared.errorCode == "inbox")
            #expect((try await api.request(.get, "/api/me/projects/\(inbox)/members", token: ann.token).object["invitations"] as? [Any])?.isEmpty == true)
        }
    }

    @Test(arguments: TestDatabase.available)
    func ownersChangeRolesAndRemoveMembersAndTheLastOwnerNeverLeaves(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let team = try await Team.make(api)
            let owner = team.tokens[.owner]!, members = "/api/me/projects/\(team.project)/members"
            let alone = try await api.request(.delete, "\(members)/me", token: owner)
            #expect(alone.status == .conflict && alone.errorCode == "last_owner")
            let demoted = try await api.request(.patch, "\(members)/\(team.ids[.owner]!)", token: owner, body: #"{"role": "editor"}"#)
            #expect(demoted.status == .conflict && demoted.errorCode == "last_owner")
            #expect(try await api.request(.patch, "\(members)/\(team.ids[.viewer]!)", token: team.tokens[.editor], body: #"{"role": "owner"}"#).status == .forbidden)
            #expect(try await api.request(.delete, "\(members)/\(team.ids[.viewer]!)", token: team.tokens[.editor]).status == .forbidden)
            #expect(try await api.request(.patch, "\(members)/\(team.ids[.stranger]!)", token: owner, body: #"{"role": "owner"}"#).status == .notFound)
            #expect(try await api.request(.patch, "\(members)/\(team.ids[.editor]!)", token: owner, body: #"{"role": "boss"}"#).status == .unprocessableContent)
            #expect(try await api.request(.get, members, token: team.tokens[.stranger]).status == .notFound)

            #expect(try await api.request(.patch, "\(members)/\(team.ids[.editor]!)", token: owner, body: #"{"role": "owner"}"#).status == .noContent)
            #expect(try await api.request(.delete, "\(members)/\(team.ids[.owner]!)", token: owner).status == .noContent, "another owner: may leave")
            #expect(try await api.request(.get, "/api/me/projects/\(team.project)", token: owner).status == .notFound)
            let newOwner = team.tokens[.editor]!
            #expect(try await api.request(.delete, "\(members)/me", token: team.tokens[.viewer]).status == .noContent, "a viewer leaves")
            let left = try #require(try await api.request(.get, members, token: newOwner).object["items"] as? [[String: Any]])
            #expect(left.compactMap { $0["user_id"] as? String } == [team.ids[.editor]!])
            #expect(Set(left.first?.keys.map { $0 } ?? []) == ["user_id", "email", "name", "role"])
        }
    }

    @Test(arguments: TestDatabase.available)
    func aTaskIsAssignedToMembersOnlyAndAssignedToMeListsItForTheAssignee(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let team = try await Team.make(api)
            let task = "/api/me/tasks/\(team.task)", owner = team.tokens[.owner]!
            let refused = try await api.request(.patch, task, token: owner, body: #"{"assignee_id": "\#(team.ids[.stranger]!)"}"#)
            #expect(refused.status == .unprocessableContent && refused.errorFields == ["assignee_id"])
            let created = try await api.request(.post, "/api/me/tasks", token: owner,
                                                body: #"{"title": "x", "project_id": "\#(team.project)", "assignee_id": "\#(team.ids[.removed]!)"}"#)
            #expect(created.status == .unprocessableContent && created.errorFields == ["assignee_id"])
            let inInbox = try await api.request(.post, "/api/me/tasks", token: owner, body: #"{"title": "x", "assignee_id": "\#(team.ids[.viewer]!)"}"#)
            #expect(inInbox.status == .unprocessableContent && inInbox.errorFields == ["assignee_id"])

            let assigned = try await api.request(.patch, task, token: team.tokens[.editor], body: #"{"assignee_id": "\#(team.ids[.viewer]!)"}"#)
            #expect(assigned.status == .ok && assigned.object["assignee_id"] as? String == team.ids[.viewer])
            let mine = try await api.request(.get, "/api/me/tasks?assignee=me", token: team.tokens[.viewer]).object["items"] as? [[String: Any]]
            #expect(mine?.compactMap { $0["id"] as? String } == [team.task])
            #expect((try await api.request(.get, "/api/me/tasks?assignee=me", token: owner).object["items"] as? [Any])?.isEmpty == true)

            // A member removed is unassigned.
            #expect(try await api.request(.delete, "/api/me/projects/\(team.project)/members/\(team.ids[.viewer]!)", token: owner).status == .noContent)
            #expect(try await api.request(.get, task, token: owner).object["assignee_id"] is NSNull)
            let cleared = try await api.request(.patch, task, token: owner, body: #"{"assignee_id": null}"#)
            #expect(cleared.status == .ok && cleared.object["assignee_id"] is NSNull)
        }
    }

    /// A due reminder is its assignee's event (the creator's when unassigned): streams, push and
    /// mail follow the event's user.
    @Test(arguments: TestDatabase.available)
    func aDueReminderGoesToTheAssignee(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let team = try await Team.make(api)
            let past = "2020-01-01T00:00:00Z"
            _ = try await api.request(.patch, "/api/me/tasks/\(team.task)", token: team.tokens[.owner],
                                      body: #"{"remind_at": "\#(past)", "assignee_id": "\#(team.ids[.editor]!)"}"#)
            let own = try await api.createTask(team.tokens[.owner]!, #"{"title": "own", "project_id": "\#(team.project)", "remind_at": "\#(past)"}"#)
            while try await !api.storage.events.claimDueReminders(at: .now(), limit: 100).isEmpty {}
            func reminders(_ role: Role) async throws -> [String] {
                try await api.storage.events.events(userID: team.ids[role]!, after: 0, limit: 100).filter { $0.kind == .reminderDue }.map { String($0.taskID) }
            }
            #expect(try await reminders(.editor) == [team.task])
            #expect(try await reminders(.owner) == [own["id"] as! String])
            #expect(try await reminders(.viewer).isEmpty)
        }
    }

    /// Every member's stream hears of a change in the project; a removed member's hears nothing
    /// from their removal on, nor on resumption.
    @Test(arguments: TestDatabase.available)
    func liveEventsReachEveryMemberAndNoLongerARemovedOne(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let team = try await Team.make(api)
            let hub = EventHub(events: api.storage.events, tasks: api.storage.tasks, projects: api.storage.projects)
            let start = try await api.storage.events.latestEventID()
            var streams: [Role: LiveSubscription] = [:]
            for role in Role.allCases { streams[role] = await hub.subscribe(userID: team.ids[role]!, after: start, heartbeat: .seconds(3600)) }
            _ = try await api.request(.patch, "/api/me/tasks/\(team.task)", token: team.tokens[.editor], body: #"{"title": "oat milk"}"#)
            try await hub.deliverNewEvents()
            #expect(try await api.request(.delete, "/api/me/projects/\(team.project)/members/\(team.ids[.viewer]!)", token: team.tokens[.owner])
                .status == .noContent)
            _ = try await api.request(.patch, "/api/me/tasks/\(team.task)", token: team.tokens[.editor], body: #"{"title": "soy milk"}"#)
            try await hub.deliverNewEvents()
            await hub.finishAll()
            var titles: [Role: [String]] = [:]
            for (role, stream) in streams {
                titles[role] = await stream.items.reduce(into: [String]()) { found, item in
                    if case .event(let event) = item, let data = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any] {
                        found.append(data["title"] as? String ?? "?")
                    }
                }
            }
            #expect(titles[.owner] == ["oat milk", "soy milk"] && titles[.editor] == ["oat milk", "soy milk"])
            #expect(titles[.viewer] == ["oat milk"])
            #expect(titles[.removed] == [] && titles[.stranger] == [])
            let resumed = try await api.storage.events.events(userID: team.ids[.viewer]!, after: start, limit: 100)
            #expect(resumed.isEmpty, "a removed member resumes nothing of the project")
        }
    }

    /// A task moved to a project some members are not in reaches them as gone, without its new title.
    @Test(arguments: TestDatabase.available)
    func aTaskMovedAwayReachesTheMembersLeftBehindAsGone(_ database: TestDatabase) async throws {
        try await Self.run(database) { api in
            let team = try await Team.make(api)
            let hub = EventHub(events: api.storage.events, tasks: api.storage.tasks, projects: api.storage.projects)
            let owner = team.tokens[.owner]!
            let own = try await api.request(.post, "/api/me/projects", token: owner, body: #"{"name": "Private"}"#).object["id"] as! String
            let start = try await api.storage.events.latestEventID()
            let ownerStream = await hub.subscribe(userID: team.ids[.owner]!, after: start, heartbeat: .seconds(3600))
            let editorStream = await hub.subscribe(userID: team.ids[.editor]!, after: start, heartbeat: .seconds(3600))
            let moved = try await api.request(.patch, "/api/me/tasks/\(team.task)", token: owner,
                                              body: #"{"project_id": "\#(own)", "title": "secret plan"}"#)
            #expect(moved.status == .ok)
            try await hub.deliverNewEvents()
            await hub.finishAll()
            func received(_ stream: LiveSubscription) async -> [String] {
                await stream.items.reduce(into: [String]()) { found, item in
                    if case .event(let event) = item { found.append("\(event.kind.rawValue) \(event.data)") }
                }
            }
            let editorSaw = await received(editorStream)
            #expect(editorSaw == [#"task.deleted {"id":"\#(team.task)"}"#])
            let ownerSaw = await received(ownerStream)
            #expect(!ownerSaw.isEmpty && ownerSaw.allSatisfy { $0.hasPrefix("task.updated") && $0.contains("secret plan") })
        }
    }
}
