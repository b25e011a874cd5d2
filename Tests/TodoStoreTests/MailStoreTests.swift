import Foundation
import Testing
import TodoCore
import TodoStore

/// E-mail on every database: settings per user, a due reminder queues one mail for a user who
/// turned reminders on, a due digest is queued once per user and local day and moves to the next
/// day, claims are leased and attempts recorded. Serialized: a claim takes any user's due mails.
@Suite(.serialized) struct MailStoreTests {
    static let backends = Backend.available

    /// Makes reminders of `user` due and fires them (waiting for them as `PushStoreTests` does).
    @discardableResult
    static func fireReminders(_ storage: Storage, _ user: User, titles: [String]) async throws -> [TodoTask] {
        var tasks: [TodoTask] = []
        for title in titles { tasks.append(try await PushStoreTests.fireReminder(storage, user, title: title)) }
        return tasks
    }

    /// Claims everything due at `now` and keeps `user`'s mails, oldest key first.
    static func claim(_ storage: Storage, _ user: User, at now: Timestamp = .now()) async throws -> [DueMail] {
        try await storage.mail.claimDeliveries(at: now, leaseEnd: now.adding(milliseconds: 30_000), limit: 1000)
            .filter { $0.userID == user.id }.sorted { $0.key < $1.key }
    }

    @Test(arguments: backends)
    func settingsStartOffAndAreSavedPerUser(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let other = try await makeUser(storage)
            #expect(try await storage.mail.notificationSettings(userID: user.id) == NotificationSettings())
            let chosen = NotificationSettings(emailReminders: true, dailyDigest: true, digestTime: DigestTime("18:45")!, timeZone: "Europe/Paris")
            #expect(try await storage.mail.saveNotificationSettings(chosen, userID: user.id, at: .now()))
            #expect(try await storage.mail.notificationSettings(userID: user.id) == chosen)
            #expect(try await storage.mail.notificationSettings(userID: other.id) == NotificationSettings())
            #expect(try await storage.mail.saveNotificationSettings(chosen, userID: "no-such-user", at: .now()) == false)
        }
    }

    @Test(arguments: backends)
    func aDueReminderQueuesOneMailForAUserWhoTurnedRemindersOn(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let optedOut = try await makeUser(storage)
            let digestOnly = try await makeUser(storage)
            _ = try await storage.mail.saveNotificationSettings(NotificationSettings(emailReminders: true, timeZone: "Asia/Tokyo"), userID: user.id, at: .now())
            _ = try await storage.mail.saveNotificationSettings(NotificationSettings(dailyDigest: true), userID: digestOnly.id, at: .now())
            let task = try await Self.fireReminders(storage, user, titles: ["call"])[0]
            try await Self.fireReminders(storage, optedOut, titles: ["call"])
            try await Self.fireReminders(storage, digestOnly, titles: ["call"])

            let claimed = try await Self.claim(storage, user)
            #expect(claimed.count == 1)
            guard case .reminder(let event, let taskID)? = claimed.first?.content else { Issue.record("no reminder"); return }
            #expect(taskID == task.id && claimed[0].key == "reminder-\(event)" && claimed[0].email == user.email)
            #expect(claimed[0].settings.timeZone == "Asia/Tokyo" && claimed[0].attempt == 0)
            #expect(try await Self.claim(storage, optedOut).isEmpty, "only opted-in users get reminder mails")
            #expect(try await Self.claim(storage, digestOnly).isEmpty, "the digest alone is no reminder mail")
        }
    }

    @Test(arguments: backends)
    func aDueDigestIsQueuedOncePerLocalDayAndMovesToTheNextDay(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let settings = NotificationSettings(dailyDigest: true, digestTime: DigestTime("07:00")!, timeZone: "Europe/Paris")
            // Saved at 06:00 in Paris on 4 December: the digest is due at 07:00 (06:00Z).
            let saved = Timestamp(rfc3339: "2026-12-04T05:00:00Z")!
            #expect(try await storage.mail.saveNotificationSettings(settings, userID: user.id, at: saved))
            let due = Timestamp(rfc3339: "2026-12-04T06:00:00Z")!
            _ = try await storage.mail.queueDueDigests(at: due.adding(milliseconds: -1), limit: 1000)
            #expect(try await Self.claim(storage, user, at: due).isEmpty, "not before its time")
            #expect(try await storage.mail.queueDueDigests(at: due, limit: 1000) >= 1)
            _ = try await storage.mail.queueDueDigests(at: due.adding(milliseconds: 60_000), limit: 1000)
            let claimed = try await Self.claim(storage, user, at: due.adding(milliseconds: 60_000))
            #expect(claimed.map(\.key) == ["digest-2026-12-04"] && claimed.first?.content == .digest(date: "2026-12-04"))
            try await storage.mail.recordAttempt(userID: user.id, key: "digest-2026-12-04", status: 250, outcome: .delivered(at: due))
            // The next is at 07:00 the day after; saving the same settings again on the same day queues no second digest.
            _ = try await storage.mail.queueDueDigests(at: Timestamp(rfc3339: "2026-12-05T05:59:00Z")!, limit: 1000)
            #expect(try await Self.claim(storage, user, at: Timestamp(rfc3339: "2026-12-05T05:59:00Z")!).isEmpty)
            _ = try await storage.mail.saveNotificationSettings(settings, userID: user.id, at: saved)
            _ = try await storage.mail.queueDueDigests(at: due, limit: 1000)
            #expect(try await Self.claim(storage, user, at: due.adding(milliseconds: 120_000)).isEmpty, "one digest a day, keyed by its date")
            let nextDay = Timestamp(rfc3339: "2026-12-05T06:00:00Z")!
            _ = try await storage.mail.queueDueDigests(at: nextDay, limit: 1000)
            #expect(try await Self.claim(storage, user, at: nextDay).map(\.key) == ["digest-2026-12-05"])
            try await storage.mail.recordAttempt(userID: user.id, key: "digest-2026-12-05", status: 250, outcome: .delivered(at: nextDay))
            // Turned off: nothing more is queued.
            _ = try await storage.mail.saveNotificationSettings(NotificationSettings(), userID: user.id, at: nextDay)
            let later = Timestamp(rfc3339: "2026-12-09T06:00:00Z")!
            _ = try await storage.mail.queueDueDigests(at: later, limit: 1000)
            #expect(try await Self.claim(storage, user, at: later).isEmpty)
        }
    }

    @Test(arguments: backends)
    func aClaimHidesAMailUntilItsLeaseEndsAndAnAttemptDecidesWhatFollows(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            _ = try await storage.mail.saveNotificationSettings(NotificationSettings(emailReminders: true), userID: user.id, at: .now())
            try await Self.fireReminders(storage, user, titles: ["delivered", "retried", "abandoned"])
            let now = Timestamp.now()
            let claimed = try await Self.claim(storage, user, at: now)
            #expect(claimed.count == 3)
            #expect(try await Self.claim(storage, user, at: now.adding(milliseconds: 29_000)).isEmpty, "claimed until the lease ends")
            try await storage.mail.recordAttempt(userID: user.id, key: claimed[0].key, status: 250, outcome: .delivered(at: now))
            try await storage.mail.recordAttempt(userID: user.id, key: claimed[1].key, status: 451, outcome: .retry(at: now.adding(milliseconds: 60_000)))
            try await storage.mail.recordAttempt(userID: user.id, key: claimed[2].key, status: 550, outcome: .abandoned)
            #expect(try await Self.claim(storage, user, at: now.adding(milliseconds: 30_000)).isEmpty, "each has an outcome now")
            let retried = try await Self.claim(storage, user, at: now.adding(milliseconds: 60_000))
            #expect(retried.map(\.key) == [claimed[1].key] && retried[0].attempt == 1)
            try await storage.mail.pruneDeliveries(before: Timestamp.now().adding(milliseconds: 1000))
        }
    }

    /// Two replicas claiming at once take disjoint mails, and queue each user's digest once.
    @Test func replicasClaimDisjointMailsAndQueueADigestOnce() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await withPostgresReplicas { first, second in
            let user = try await makeUser(first)
            let saved = Timestamp.now().adding(milliseconds: -2 * 86_400_000)
            _ = try await first.mail.saveNotificationSettings(NotificationSettings(emailReminders: true, dailyDigest: true), userID: user.id, at: saved)
            try await Self.fireReminders(first, user, titles: (0..<20).map { "r\($0)" })
            let now = Timestamp.now()
            async let queuedOne = first.mail.queueDueDigests(at: now, limit: 1000)
            async let queuedTwo = second.mail.queueDueDigests(at: now, limit: 1000)
            _ = try await (queuedOne, queuedTwo)
            async let one = Self.claim(first, user, at: now)
            async let two = Self.claim(second, user, at: now)
            let (a, b) = try await (one, two)
            let keys = (Set(a.map(\.key)), Set(b.map(\.key)))
            #expect(keys.0.count + keys.1.count == 21, "20 reminders and one digest")
            #expect(keys.0.isDisjoint(with: keys.1))
            #expect(keys.0.union(keys.1).filter { $0.hasPrefix("digest-") }.count == 1)
        }
    }
}
