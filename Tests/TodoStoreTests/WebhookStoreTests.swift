import Foundation
import Testing
import TodoCore
import TodoStore

/// Webhooks on every database: deliveries queued by the event trigger, claimed once per lease,
/// retried, finished. Serialized: a claim takes any user's due deliveries, and the tests of this
/// suite are the only ones that make webhooks.
@Suite(.serialized) struct WebhookStoreTests {
    static let backends = Backend.available

    static func subscribe(_ storage: Storage, _ user: User, to events: [WebhookEventType], project: ProjectID? = nil) async throws -> Webhook {
        let webhook = Webhook(id: UUID().uuidString.lowercased(), userID: user.id, url: "https://hooks.example/\(user.id)", events: events,
                              projectID: project, createdAt: .now())
        #expect(try await storage.webhooks.createWebhook(webhook, secret: "whsec_c2VjcmV0", limit: 20) == .created)
        return webhook
    }

    static func add(_ storage: Storage, _ user: User, _ title: String, project: ProjectID) async throws -> TodoTask {
        var task = TodoTask.new(TaskFields(title: title), userID: user.id, at: .now())
        task.projectID = project
        return try #require(try await storage.tasks.insertTask(task, limit: taskLimit))
    }

    static func inbox(_ storage: Storage, _ user: User) async throws -> ProjectID {
        try #require(try await storage.projects.projects(userID: user.id, at: .now()).first { $0.isInbox }).id
    }

    static func project(_ storage: Storage, _ user: User, _ name: String) async throws -> ProjectID {
        try #require(try await storage.projects.createProject(NewProject(name: name), userID: user.id, at: .now())).id
    }

    /// Claims everything due at `now` and keeps `webhook`'s, oldest event first.
    static func claim(_ storage: Storage, _ webhook: Webhook, at now: Timestamp = .now()) async throws -> [DueWebhookDelivery] {
        try await claim(storage, [webhook], at: now)[0]
    }

    static func claim(_ storage: Storage, _ webhooks: [Webhook], at now: Timestamp = .now()) async throws -> [[DueWebhookDelivery]] {
        let claimed = try await storage.webhooks.claimDeliveries(at: now, leaseEnd: now.adding(milliseconds: 30_000), limit: 1000)
        return webhooks.map { webhook in claimed.filter { $0.webhookID == webhook.id }.sorted { $0.eventID < $1.eventID } }
    }

    @Test(arguments: backends)
    func aChangeQueuesADeliveryForEachWebhookThatAskedForItsType(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let stranger = try await makeUser(storage)
            let completions = try await Self.subscribe(storage, user, to: [.taskCreated, .taskCompleted])
            let updates = try await Self.subscribe(storage, user, to: [.taskUpdated, .taskDeleted])
            let task = try #require(try await storage.tasks.insertTask(TaskFields(title: "a"), userID: user.id, at: .now(), limit: taskLimit))
            _ = try await storage.tasks.insertTask(TaskFields(title: "not mine"), userID: stranger.id, at: .now(), limit: taskLimit)
            let done = task.replacingFields(with: TaskFields(title: "a", completed: true), at: .now())
            #expect(try await storage.tasks.saveTask(done, expectedVersion: 1))
            #expect(try await storage.tasks.deleteTask(id: task.id, userID: user.id, expectedVersion: nil) == .deleted)

            let claimed = try await Self.claim(storage, [completions, updates])
            let toCompletions = claimed[0]
            #expect(toCompletions.map(\.type) == [.taskCreated, .taskCompleted])
            #expect(toCompletions.allSatisfy { $0.taskID == task.id && $0.userID == user.id && $0.attempt == 0 && $0.secret == "whsec_c2VjcmV0" })
            #expect(claimed[1].map(\.type) == [.taskUpdated, .taskDeleted], "a completion is an update to who asked for those")
            #expect(toCompletions[0].eventID < toCompletions[1].eventID)
        }
    }

    /// An import inserts its tasks with one statement (PostgreSQL records their events per
    /// statement): each task still has its event, in id order, and each webhook that hears of
    /// its project one delivery per task; a webhook of another project hears nothing.
    @Test(arguments: backends)
    func tasksInsertedTogetherQueueAnEventAndADeliveryEach(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let member = try await makeUser(storage)
            let inbox = try await Self.inbox(storage, user)
            #expect(try await storage.projects.setMember(member.id, role: .editor, projectID: inbox, at: .now()))
            let everything = try await Self.subscribe(storage, user, to: [.taskCreated])
            let members = try await Self.subscribe(storage, member, to: [.taskCreated], project: inbox)
            let elsewhere = try await Self.subscribe(storage, user, to: [.taskCreated], project: try await Self.project(storage, user, "Other"))
            let before = try await storage.events.latestEventID()
            let tasks = (1...5).map { TodoTask.new(TaskFields(title: "imported \($0)"), userID: user.id, at: .now()) }
            #expect(try await storage.tasks.importTasks(.flat(tasks), userID: user.id, limit: taskLimit) == [])

            // Other suites create tasks meanwhile: their events are left out.
            let events = try await storage.events.events(after: before, limit: 10_000).filter { $0.userID == user.id }
            #expect(events.count == 5)
            #expect(events.allSatisfy { $0.kind == .taskCreated && $0.userID == user.id && $0.projectID == inbox })
            #expect(events.map(\.taskID) == events.map(\.taskID).sorted(), "in the order of the tasks' ids")
            let claimed = try await Self.claim(storage, [everything, members, elsewhere])
            for deliveries in claimed[0...1] {
                #expect(deliveries.map(\.eventID) == events.map(\.id))
                #expect(deliveries.map(\.taskID) == events.map(\.taskID))
            }
            #expect(claimed[2].isEmpty)
        }
    }

    @Test(arguments: backends)
    func aClaimHidesADeliveryUntilItsLeaseEndsAndAnAttemptDecidesWhatFollows(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let webhook = try await Self.subscribe(storage, user, to: [.taskCreated])
            for title in ["delivered", "retried", "abandoned"] {
                _ = try await storage.tasks.insertTask(TaskFields(title: title), userID: user.id, at: .now(), limit: taskLimit)
            }
            let now = Timestamp.now()
            let claimed = try await Self.claim(storage, webhook, at: now)
            #expect(claimed.count == 3)
            #expect(try await Self.claim(storage, webhook, at: now.adding(milliseconds: 29_000)).isEmpty, "claimed until the lease ends")
            try await storage.webhooks.recordAttempt(webhookID: webhook.id, eventID: claimed[0].eventID, status: 204, outcome: .delivered(at: now))
            try await storage.webhooks.recordAttempt(
                webhookID: webhook.id, eventID: claimed[1].eventID, status: 503, outcome: .retry(at: now.adding(milliseconds: 60_000)))
            try await storage.webhooks.recordAttempt(webhookID: webhook.id, eventID: claimed[2].eventID, status: nil, outcome: .abandoned)

            let leaseOver = now.adding(milliseconds: 30_000)
            #expect(try await Self.claim(storage, webhook, at: leaseOver).isEmpty, "each has an outcome now")
            let retried = try await Self.claim(storage, webhook, at: now.adding(milliseconds: 60_000))
            #expect(retried.map(\.eventID) == [claimed[1].eventID] && retried[0].attempt == 1)

            let listed = try #require(try await storage.webhooks.deliveries(webhookID: webhook.id, userID: user.id, limit: 50))
            #expect(listed.map(\.eventID) == claimed.map(\.eventID).reversed(), "newest first")
            #expect(listed.map(\.attempt) == [1, 1, 1] && listed.map(\.status) == [nil, 503, 204])
            #expect(listed.map(\.deliveredAt) == [nil, nil, now])

            try await storage.webhooks.pruneDeliveries(before: Timestamp.now().adding(milliseconds: 1000))
            let kept = try #require(try await storage.webhooks.deliveries(webhookID: webhook.id, userID: user.id, limit: 50))
            #expect(kept.map(\.eventID) == [claimed[1].eventID], "finished deliveries are pruned, pending ones kept")
            try await storage.webhooks.recordAttempt(webhookID: webhook.id, eventID: claimed[1].eventID, status: 200, outcome: .delivered(at: now))
        }
    }

    @Test(arguments: backends)
    func webhooksBelongToTheirUserAndAreLimited(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let other = try await makeUser(storage)
            let first = try await Self.subscribe(storage, user, to: [.reminderDue])
            #expect(try await storage.webhooks.webhooks(userID: user.id) == [first])
            #expect(try await storage.webhooks.webhooks(userID: other.id).isEmpty)
            #expect(try await storage.webhooks.deliveries(webhookID: first.id, userID: other.id, limit: 50) == nil)
            #expect(try await storage.webhooks.deleteWebhook(id: first.id, userID: other.id) == false)

            let second = Webhook(id: UUID().uuidString.lowercased(), userID: user.id, url: "https://x.example", events: [.taskCreated], createdAt: .now())
            await #expect(throws: QuotaReached(.webhooks, limit: 1)) {
                try await storage.webhooks.createWebhook(second, secret: "whsec_eA==", limit: 1)
            }
            let orphan = Webhook(id: UUID().uuidString.lowercased(), userID: "no-such-user", url: "https://x.example", events: [.taskCreated],
                                 createdAt: .now())
            #expect(try await storage.webhooks.createWebhook(orphan, secret: "whsec_eA==", limit: 20) == .noSuchAccount)

            #expect(try await storage.webhooks.deleteWebhook(id: first.id, userID: user.id))
            #expect(try await storage.webhooks.webhooks(userID: user.id).isEmpty)
            _ = try await storage.tasks.insertTask(TaskFields(title: "after"), userID: user.id, at: .now(), limit: taskLimit)
            #expect(try await Self.claim(storage, first).isEmpty)
        }
    }

    @Test(arguments: backends)
    func aProjectsWebhookHearsOfThatProjectsTasksOnlyAndAnAccountsOfEveryProject(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let garden = try await Self.project(storage, user, "Garden")
            let gardenHook = try await Self.subscribe(storage, user, to: [.taskCreated], project: garden)
            let everything = try await Self.subscribe(storage, user, to: [.taskCreated])
            #expect(try await storage.webhooks.webhooks(userID: user.id).map(\.projectID) == [garden, nil])

            let seeds = try await Self.add(storage, user, "seeds", project: garden)
            let milk = try await Self.add(storage, user, "milk", project: try await Self.inbox(storage, user))
            let claimed = try await Self.claim(storage, [gardenHook, everything])
            #expect(claimed[0].map(\.taskID) == [seeds.id], "not the Inbox's task")
            #expect(claimed[1].map(\.taskID) == [seeds.id, milk.id])
        }
    }

    @Test(arguments: backends)
    func webhooksHearOfTheTasksOfEveryMemberAndAMemberWhoLeavesHearsNoMore(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage), member = try await makeUser(storage)
            let shared = try await Self.project(storage, owner, "Shared")
            #expect(try await storage.projects.setMember(member.id, role: .viewer, projectID: shared, at: .now()))
            let viewersProjectHook = try await Self.subscribe(storage, member, to: [.taskCreated], project: shared)
            let viewersHook = try await Self.subscribe(storage, member, to: [.taskCreated])
            _ = try await Self.add(storage, owner, "told to both", project: shared)
            _ = try await Self.add(storage, owner, "not shared", project: try await Self.inbox(storage, owner))
            #expect(try await Self.claim(storage, [viewersProjectHook, viewersHook]).map(\.count) == [1, 1], "another member's task, in a shared project only")

            #expect(try await storage.projects.removeMember(member.id, projectID: shared, by: member.id, at: .now()) == .done)
            #expect(try await storage.webhooks.webhooks(userID: member.id) == [viewersHook], "their webhook of the project goes with them")
            _ = try await Self.add(storage, owner, "told to nobody", project: shared)
            #expect(try await Self.claim(storage, viewersHook).isEmpty)
        }
    }

    @Test(arguments: backends)
    func onlyAMemberMakesAProjectsWebhook(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let owner = try await makeUser(storage), stranger = try await makeUser(storage)
            let project = try await Self.project(storage, owner, "Private")
            let intruder = Webhook(id: UUID().uuidString.lowercased(), userID: stranger.id, url: "https://x.example", events: [.taskCreated],
                                   projectID: project, createdAt: .now())
            #expect(try await storage.webhooks.createWebhook(intruder, secret: "whsec_eA==", limit: 20) == .noSuchProject)
            var missing = intruder
            missing.projectID = project + 1_000_000
            #expect(try await storage.webhooks.createWebhook(missing, secret: "whsec_eA==", limit: 20) == .noSuchProject)
            #expect(try await storage.webhooks.webhooks(userID: stranger.id).isEmpty)
        }
    }

    @Test(arguments: backends)
    func aMoveIsToldToTheWebhooksOfBothProjectsOnceEach(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let from = try await Self.project(storage, user, "From"), to = try await Self.project(storage, user, "To")
            let task = try await Self.add(storage, user, "moving", project: from)
            let hooks = [try await Self.subscribe(storage, user, to: [.taskUpdated], project: from),
                         try await Self.subscribe(storage, user, to: [.taskUpdated], project: to),
                         try await Self.subscribe(storage, user, to: [.taskUpdated])]
            var moved = task.replacingFields(with: task.fields, at: .now())
            moved.projectID = to
            moved.position = nil
            #expect(try await storage.tasks.saveTask(moved, expectedVersion: 1))
            let claimed = try await Self.claim(storage, hooks)
            #expect(claimed.map { $0.map(\.type) } == [[.taskUpdated], [.taskUpdated], [.taskUpdated]])
            #expect(Set(claimed.flatMap { $0.map(\.eventID) }).count == 1)
        }
    }

    @Test(arguments: backends)
    func deletingAProjectDeletesItsWebhooksAndTellsTheOthersOfItsTasks(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let doomed = try await Self.project(storage, user, "Doomed")
            let task = try await Self.add(storage, user, "goes with it", project: doomed)
            let projectHook = try await Self.subscribe(storage, user, to: [.taskDeleted], project: doomed)
            let everything = try await Self.subscribe(storage, user, to: [.taskDeleted])
            #expect(try await storage.projects.deleteProject(id: doomed, userID: user.id, tasks: .delete, at: .now()) == .deleted)
            #expect(try await storage.webhooks.webhooks(userID: user.id) == [everything])
            #expect(try await storage.webhooks.deliveries(webhookID: projectHook.id, userID: user.id, limit: 50) == nil)
            let claimed = try await Self.claim(storage, everything)
            #expect(claimed.map(\.type) == [.taskDeleted] && claimed.map(\.taskID) == [task.id])
        }
    }

    /// Two replicas claiming at once take disjoint deliveries.
    @Test func replicasClaimDisjointDeliveries() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await withPostgresReplicas { first, second in
            let user = try await makeUser(first)
            let webhook = try await Self.subscribe(first, user, to: [.taskCreated])
            for number in 0..<40 {
                _ = try await first.tasks.insertTask(TaskFields(title: "t\(number)"), userID: user.id, at: .now(), limit: taskLimit)
            }
            async let one = Self.claim(first, webhook)
            async let two = Self.claim(second, webhook)  // each takes others' due deliveries too: only this suite makes any
            let (a, b) = try await (one, two)
            #expect(a.count + b.count == 40)
            #expect(Set(a.map(\.eventID)).isDisjoint(with: b.map(\.eventID)))
            #expect(try await first.webhooks.deleteWebhook(id: webhook.id, userID: user.id))
        }
    }
}
