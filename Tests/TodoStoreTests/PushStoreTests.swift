import Foundation
import Testing
import TodoCore
import TodoStore

/// Web Push on every database: a due reminder queues one delivery per device of its user, claimed
/// once per lease, retried, finished, or dropped with its subscription. Serialized: a claim takes
/// any user's due deliveries, and the tests of this suite are the only ones that subscribe.
@Suite(.serialized) struct PushStoreTests {
    static let backends = Backend.available

    static func subscribe(_ storage: Storage, _ user: User, device: String = UUID().uuidString, auth: String = "YXV0aA") async throws -> PushSubscription {
        let subscription = PushSubscription(
            id: UUID().uuidString.lowercased(), userID: user.id, endpoint: "https://push.example/\(device)", p256dh: "cDI1NmRo", auth: auth,
            createdAt: .now())
        let id = try #require(try await storage.push.saveSubscription(subscription, limit: 50))
        return try #require(try await storage.push.subscriptions(userID: user.id).first { $0.id == id })
    }

    /// Makes a reminder of `user` due and fires it (whichever test's claim fires it). Another
    /// suite's claim may be the one that took it: the wait is for that transaction's commit, which
    /// writes the event and the deliveries it queues together.
    static func fireReminder(_ storage: Storage, _ user: User, title: String = "call") async throws -> TodoTask {
        let past = Timestamp.now().adding(milliseconds: -1000)
        let task = try #require(try await storage.tasks.insertTask(TaskFields(title: title, remindAt: past), userID: user.id, at: .now(), limit: taskLimit))
        while try await !storage.events.claimDueReminders(at: .now(), limit: 1000).isEmpty {}
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !storage.events.events(userID: user.id, after: 0, limit: 10_000).contains(where: { $0.kind == .reminderDue && $0.taskID == task.id }),
              ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return task
    }

    /// Claims everything due at `now` and keeps the deliveries to `subscriptions`, by subscription.
    static func claim(_ storage: Storage, _ subscriptions: [PushSubscription], at now: Timestamp = .now()) async throws -> [[DuePushDelivery]] {
        let claimed = try await storage.push.claimDeliveries(at: now, leaseEnd: now.adding(milliseconds: 30_000), limit: 1000)
        return subscriptions.map { subscription in claimed.filter { $0.subscription.id == subscription.id }.sorted { $0.eventID < $1.eventID } }
    }

    @Test(arguments: backends)
    func aDueReminderQueuesOneDeliveryForEachDeviceOfItsUserAndNothingElseDoes(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let stranger = try await makeUser(storage)
            let phone = try await Self.subscribe(storage, user)
            let laptop = try await Self.subscribe(storage, user)
            let strangers = try await Self.subscribe(storage, stranger)
            let plain = try #require(try await storage.tasks.insertTask(TaskFields(title: "no reminder"), userID: user.id, at: .now(), limit: taskLimit))
            #expect(try await storage.tasks.deleteTask(id: plain.id, userID: user.id, expectedVersion: nil) == .deleted)
            let task = try await Self.fireReminder(storage, user)

            let claimed = try await Self.claim(storage, [phone, laptop, strangers])
            #expect(claimed[0].map(\.taskID) == [task.id] && claimed[1].map(\.taskID) == [task.id], "once to each device, only the reminder")
            #expect(claimed[0][0].eventID == claimed[1][0].eventID && claimed[0][0].attempt == 0)
            #expect(claimed[0][0].subscription == phone)
            #expect(claimed[2].isEmpty, "another user's devices get nothing")
        }
    }

    @Test(arguments: backends)
    func theSameEndpointAgainUpdatesItsKeysInsteadOfAddingADevice(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let first = try await Self.subscribe(storage, user, device: "d1")
            let renewed = try await Self.subscribe(storage, user, device: "d1", auth: "bmV3")
            #expect(renewed.id == first.id && renewed.auth == "bmV3")
            #expect(try await storage.push.subscriptions(userID: user.id) == [renewed])
            let other = try await makeUser(storage)
            #expect(try await Self.subscribe(storage, other, device: "d1").id != first.id, "one browser, two accounts: one each")
        }
    }

    @Test(arguments: backends)
    func aClaimHidesADeliveryUntilItsLeaseEndsAndAnAttemptDecidesWhatFollows(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let device = try await Self.subscribe(storage, user)
            for title in ["delivered", "retried", "abandoned"] { _ = try await Self.fireReminder(storage, user, title: title) }
            let now = Timestamp.now()
            let claimed = try await Self.claim(storage, [device], at: now)[0]
            #expect(claimed.count == 3)
            #expect(try await Self.claim(storage, [device], at: now.adding(milliseconds: 29_000))[0].isEmpty, "claimed until the lease ends")
            try await storage.push.recordAttempt(subscriptionID: device.id, eventID: claimed[0].eventID, status: 201, outcome: .delivered(at: now))
            try await storage.push.recordAttempt(
                subscriptionID: device.id, eventID: claimed[1].eventID, status: 503, outcome: .retry(at: now.adding(milliseconds: 60_000)))
            try await storage.push.recordAttempt(subscriptionID: device.id, eventID: claimed[2].eventID, status: 400, outcome: .abandoned)

            #expect(try await Self.claim(storage, [device], at: now.adding(milliseconds: 30_000))[0].isEmpty, "each has an outcome now")
            let retried = try await Self.claim(storage, [device], at: now.adding(milliseconds: 60_000))[0]
            #expect(retried.map(\.eventID) == [claimed[1].eventID] && retried[0].attempt == 1)
            try await storage.push.pruneDeliveries(before: Timestamp.now().adding(milliseconds: 1000))
            try await storage.push.recordAttempt(subscriptionID: device.id, eventID: claimed[1].eventID, status: 201, outcome: .delivered(at: now))
        }
    }

    @Test(arguments: backends)
    func aSubscriptionThePushServiceForgotIsRemovedWithItsPendingDeliveries(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let gone = try await Self.subscribe(storage, user)
            let kept = try await Self.subscribe(storage, user)
            _ = try await Self.fireReminder(storage, user)
            _ = try await Self.fireReminder(storage, user)
            let now = Timestamp.now()
            let claimed = try await Self.claim(storage, [gone, kept], at: now)
            #expect(claimed.map(\.count) == [2, 2])
            try await storage.push.removeSubscription(id: gone.id)  // the push service answered 410 to the first
            #expect(try await storage.push.subscriptions(userID: user.id) == [kept])
            let later = try await Self.claim(storage, [gone, kept], at: now.adding(milliseconds: 31_000))
            #expect(later.map(\.count) == [0, 2], "the other device's deliveries stay")
            _ = try await Self.fireReminder(storage, user)
            #expect(try await Self.claim(storage, [gone, kept]).map(\.count) == [0, 1], "the new reminder; the two before are leased")
            #expect(try await storage.push.deleteSubscription(id: kept.id, userID: user.id))
        }
    }

    @Test(arguments: backends)
    func subscriptionsBelongToTheirUserAndAreLimited(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let other = try await makeUser(storage)
            let first = try await Self.subscribe(storage, user, device: "limited")
            #expect(try await storage.push.deleteSubscription(id: first.id, userID: other.id) == false)
            #expect(try await storage.push.subscriptions(userID: other.id).isEmpty)
            let second = PushSubscription(id: UUID().uuidString.lowercased(), userID: user.id, endpoint: "https://push.example/2", p256dh: "a", auth: "b",
                                          createdAt: .now())
            await #expect(throws: QuotaReached(.pushSubscriptions, limit: 1)) { try await storage.push.saveSubscription(second, limit: 1) }
            var again = second
            again.endpoint = first.endpoint
            #expect(try await storage.push.saveSubscription(again, limit: 1) == first.id, "renewing a device is no new one")
            var orphan = second
            orphan.userID = "no-such-user"
            #expect(try await storage.push.saveSubscription(orphan, limit: 50) == nil)
            #expect(try await storage.push.deleteSubscription(id: first.id, userID: user.id))
            #expect(try await storage.push.subscriptions(userID: user.id).isEmpty)
        }
    }

    /// Two replicas claiming at once take disjoint deliveries.
    @Test func replicasClaimDisjointDeliveries() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await withPostgresReplicas { first, second in
            let user = try await makeUser(first)
            let devices = [try await Self.subscribe(first, user), try await Self.subscribe(first, user)]
            for number in 0..<20 { _ = try await Self.fireReminder(first, user, title: "r\(number)") }
            async let one = Self.claim(first, devices)
            async let two = Self.claim(second, devices)
            let (a, b) = try await (one, two)
            let keys = { (claims: [[DuePushDelivery]]) in Set(claims.joined().map { "\($0.subscription.id)/\($0.eventID)" }) }
            #expect(keys(a).count + keys(b).count == 40)
            #expect(keys(a).isDisjoint(with: keys(b)))
            for device in devices { #expect(try await first.push.deleteSubscription(id: device.id, userID: user.id)) }
        }
    }
}
