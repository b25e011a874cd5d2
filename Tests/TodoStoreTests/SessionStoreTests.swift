import Foundation
import Testing
import TodoCore
import TodoStore

/// Log-in sessions, the same on every database.
@Suite struct SessionStoreTests {
    static let backends = Backend.available

    static func session(_ user: User, at now: Timestamp, lifetime: Int64 = 3_600_000) -> LoginSession {
        LoginSession(id: UUID().uuidString.lowercased(), userID: user.id, createdAt: now, lastUsedAt: now,
                     expiresAt: now.adding(milliseconds: lifetime), userAgent: "Test/1.0")
    }

    @Test(arguments: backends)
    func aSessionLivesUntilItExpiresOrIsDeleted(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let now = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch)
            let session = Self.session(user, at: now)
            try await storage.sessions.createSession(session)
            #expect(try await storage.sessions.session(id: session.id, at: now) == session)
            #expect(try await storage.sessions.session(id: session.id, at: session.expiresAt) == nil)
            let stranger = try await makeUser(storage)
            #expect(try await storage.sessions.deleteSession(id: session.id, userID: stranger.id) == false)
            #expect(try await storage.sessions.deleteSession(id: session.id, userID: user.id))
            #expect(try await storage.sessions.session(id: session.id, at: now) == nil)
        }
    }

    @Test(arguments: backends)
    func deletingAllSessionsCanKeepOne(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage), other = try await makeUser(storage)
            let now = Timestamp.now()
            let kept = Self.session(user, at: now), dropped = Self.session(user, at: now), others = Self.session(other, at: now)
            for session in [kept, dropped, others] { try await storage.sessions.createSession(session) }
            try await storage.sessions.deleteSessions(userID: user.id, keeping: kept.id)
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).map(\.id) == [kept.id])
            try await storage.sessions.deleteSessions(userID: user.id, keeping: nil)
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).isEmpty)
            #expect(try await storage.sessions.sessions(userID: other.id, at: now).map(\.id) == [others.id])
        }
    }

    @Test(arguments: backends)
    func aUseIsRecordedAtMostOnceAMinute(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let start = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch)
            let session = Self.session(user, at: start)
            try await storage.sessions.createSession(session)
            try await storage.sessions.touchSession(id: session.id, at: start.adding(milliseconds: 59_000))
            #expect(try await storage.sessions.session(id: session.id, at: start)?.lastUsedAt == start)
            let later = start.adding(milliseconds: 60_000)
            try await storage.sessions.touchSession(id: session.id, at: later)
            #expect(try await storage.sessions.session(id: session.id, at: start)?.lastUsedAt == later)
        }
    }

    @Test(arguments: backends)
    func expiredSessionsArePruned(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let now = Timestamp.now()
            let brief = Self.session(user, at: now, lifetime: 1000), long = Self.session(user, at: now)
            try await storage.sessions.createSession(brief)
            try await storage.sessions.createSession(long)
            try await storage.sessions.pruneSessions(before: now.adding(milliseconds: 1000))
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).map(\.id) == [long.id])
        }
    }
}

/// Managing accounts, the same on every database.
@Suite struct AccountAdministrationTests {
    static let backends = Backend.available

    @Test(arguments: backends)
    func deletingAUserRemovesEverythingItOwnsAndNothingElse(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage), other = try await makeUser(storage)
            let now = Timestamp.now()
            var resets: [UserID: PasswordReset] = [:]
            for owner in [user, other] {
                _ = try await storage.tasks.insertTask(TaskFields(title: "task of \(owner.id)"), userID: owner.id, at: now, limit: taskLimit)
                #expect(try await storage.accounts.createToken(
                    PersonalToken(id: UUID().uuidString.lowercased(), userID: owner.id, name: "t", createdAt: now, expiresAt: nil, lastUsedAt: nil),
                    secretHash: UUID().uuidString, limit: tokenLimit))
                try await storage.sessions.createSession(SessionStoreTests.session(owner, at: now))
                resets[owner.id] = PasswordResetStoreTests.reset(owner, at: now)
                #expect(try await storage.passwordResets.createPasswordReset(resets[owner.id]!))
                _ = try await storage.conversations.createConversation(
                    Conversation(id: UUID().uuidString.lowercased(), userID: owner.id, title: "chat", createdAt: now, updatedAt: now), limit: 10)
            }
            #expect(try await storage.accounts.deleteUser(id: user.id))
            #expect(try await storage.accounts.user(id: user.id) == nil)
            #expect(try await storage.tasks.allTasks(userID: user.id).isEmpty)
            #expect(try await storage.accounts.tokens(userID: user.id).isEmpty)
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).isEmpty)
            #expect(try await storage.conversations.conversations(userID: user.id, limit: 10).isEmpty)
            #expect(try await storage.events.events(userID: user.id, after: 0, limit: 100).isEmpty)
            // The other account keeps all of its own.
            #expect(try await storage.tasks.allTasks(userID: other.id).count == 1)
            #expect(try await storage.accounts.tokens(userID: other.id).count == 1)
            #expect(try await storage.sessions.sessions(userID: other.id, at: now).count == 1)
            #expect(try await storage.events.events(userID: other.id, after: 0, limit: 100).count == 1)
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: resets[other.id]!.tokenHash, at: now) == other.id)
            #expect(try await storage.accounts.deleteUser(id: user.id) == false)
            // An account made again with the same id finds none of the old one's rows.
            _ = try await storage.accounts.createUser(user, passwordHash: "hash")
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: resets[user.id]!.tokenHash, at: now) == nil)
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).isEmpty)
        }
    }

    @Test(arguments: backends)
    func aDisabledAccountsSessionsAndTokensAreNotFound(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let now = Timestamp.now()
            let session = SessionStoreTests.session(user, at: now)
            try await storage.sessions.createSession(session)
            let hash = UUID().uuidString
            #expect(try await storage.accounts.createToken(
                PersonalToken(id: UUID().uuidString.lowercased(), userID: user.id, name: "t", createdAt: now, expiresAt: nil, lastUsedAt: nil),
                secretHash: hash, limit: tokenLimit))
            #expect(try await storage.accounts.setDisabled(true, userID: user.id))
            #expect(try await storage.sessions.session(id: session.id, at: now) == nil)
            #expect(try await storage.accounts.token(secretHash: hash) == nil)
            #expect(try await storage.accounts.credentials(email: user.email)?.disabled == true)
            #expect(try await storage.accounts.allUsers().first { $0.user.id == user.id }?.disabled == true)
            #expect(try await storage.accounts.setDisabled(false, userID: user.id))
            #expect(try await storage.sessions.session(id: session.id, at: now) != nil)
            #expect(try await storage.accounts.token(secretHash: hash) != nil)
        }
    }

    @Test(arguments: backends)
    func changingThePasswordEndsTheOtherSessionsInTheSameTransaction(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let now = Timestamp.now()
            let kept = SessionStoreTests.session(user, at: now), ended = SessionStoreTests.session(user, at: now)
            for session in [kept, ended] { try await storage.sessions.createSession(session) }
            #expect(try await storage.accounts.createToken(
                PersonalToken(id: UUID().uuidString.lowercased(), userID: user.id, name: "t", createdAt: now, expiresAt: nil, lastUsedAt: nil),
                secretHash: UUID().uuidString, limit: tokenLimit))
            #expect(try await storage.accounts.changePassword(userID: user.id, hash: "new", keepingSession: kept.id, revokingTokens: false))
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).map(\.id) == [kept.id])
            #expect(try await storage.accounts.credentials(email: user.email)?.passwordHash == "new")
            #expect(try await storage.accounts.tokens(userID: user.id).count == 1)
            #expect(try await storage.accounts.changePassword(userID: user.id, hash: "newer", keepingSession: nil, revokingTokens: true))
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).isEmpty)
            #expect(try await storage.accounts.tokens(userID: user.id).isEmpty)
            #expect(try await storage.accounts.changePassword(userID: "nobody", hash: "x", keepingSession: nil, revokingTokens: false) == false)
        }
    }
}
