import Foundation
import Testing
import TodoCore
import TodoStore

/// Password resets, the same on every database: one use, until they expire, void after any
/// password change.
@Suite struct PasswordResetStoreTests {
    static let backends = Backend.available

    static func reset(_ user: User, at now: Timestamp, lifetime: Int64 = 1_800_000) -> PasswordReset {
        PasswordReset(tokenHash: UUID().uuidString, userID: user.id, createdAt: now, expiresAt: now.adding(milliseconds: lifetime))
    }

    /// A new account with one pending reset, made at `now`.
    static func pending(_ storage: Storage) async throws -> (user: User, reset: PasswordReset, now: Timestamp) {
        let user = try await makeUser(storage)
        let now = Timestamp.now()
        let reset = Self.reset(user, at: now)
        #expect(try await storage.passwordResets.createPasswordReset(reset))
        return (user, reset, now)
    }

    @Test(arguments: backends)
    func aResetWorksOnceAndEndsEverySession(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, reset, now) = try await Self.pending(storage)
            let other = try await makeUser(storage)
            for owner in [user, other] { try await storage.sessions.createSession(SessionStoreTests.session(owner, at: now)) }
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: reset.tokenHash, at: now) == user.id)
            #expect(try await storage.passwordResets.resetPassword(tokenHash: reset.tokenHash, passwordHash: "new", at: now) == user.id)
            #expect(try await storage.accounts.credentials(email: user.email)?.passwordHash == "new")
            #expect(try await storage.sessions.sessions(userID: user.id, at: now).isEmpty)
            #expect(try await storage.sessions.sessions(userID: other.id, at: now).count == 1)
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: reset.tokenHash, at: now) == nil)
            #expect(try await storage.passwordResets.resetPassword(tokenHash: reset.tokenHash, passwordHash: "again", at: now) == nil)
            #expect(try await storage.accounts.credentials(email: user.email)?.passwordHash == "new")
        }
    }

    /// The reset was made three hours ago: pruning up to its expiry touches no reset of the tests
    /// that run alongside on the same database.
    @Test(arguments: backends)
    func anExpiredResetDoesNotWorkAndIsPruned(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let made = Timestamp.now().adding(milliseconds: -3 * 3_600_000)
            let reset = Self.reset(user, at: made)
            #expect(try await storage.passwordResets.createPasswordReset(reset))
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: reset.tokenHash, at: reset.expiresAt) == nil)
            #expect(try await storage.passwordResets.resetPassword(tokenHash: reset.tokenHash, passwordHash: "new", at: reset.expiresAt) == nil)
            try await storage.passwordResets.prunePasswordResets(before: reset.expiresAt.adding(milliseconds: -1))
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: reset.tokenHash, at: made) == user.id)
            try await storage.passwordResets.prunePasswordResets(before: reset.expiresAt)
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: reset.tokenHash, at: made) == nil)
            #expect(try await storage.accounts.credentials(email: user.email)?.passwordHash != "new")
        }
    }

    @Test(arguments: backends)
    func aResetVoidsTheAccountsOtherResetsOnly(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage), other = try await makeUser(storage)
            let now = Timestamp.now()
            let used = Self.reset(user, at: now), sibling = Self.reset(user, at: now), others = Self.reset(other, at: now)
            for reset in [used, sibling, others] { #expect(try await storage.passwordResets.createPasswordReset(reset)) }
            #expect(try await storage.passwordResets.resetPassword(tokenHash: used.tokenHash, passwordHash: "new", at: now) == user.id)
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: sibling.tokenHash, at: now) == nil)
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: others.tokenHash, at: now) == other.id)
        }
    }

    @Test(arguments: backends)
    func aPasswordChangeVoidsPendingResets(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, reset, now) = try await Self.pending(storage)
            #expect(try await storage.accounts.changePassword(userID: user.id, hash: "changed", keepingSession: nil, revokingTokens: false))
            #expect(try await storage.passwordResets.resetPassword(tokenHash: reset.tokenHash, passwordHash: "new", at: now) == nil)
            #expect(try await storage.accounts.credentials(email: user.email)?.passwordHash == "changed")
        }
    }

    @Test(arguments: backends)
    func aDisabledOrMissingAccountGetsNoReset(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, pending, now) = try await Self.pending(storage)
            #expect(try await storage.accounts.setDisabled(true, userID: user.id))
            #expect(try await storage.passwordResets.createPasswordReset(Self.reset(user, at: now)) == false)
            #expect(try await storage.passwordResets.passwordResetAccount(tokenHash: pending.tokenHash, at: now) == nil)
            #expect(try await storage.passwordResets.resetPassword(tokenHash: pending.tokenHash, passwordHash: "new", at: now) == nil)
            let ghost = User(id: "nobody", email: "nobody@example.com", name: nil, createdAt: now)
            #expect(try await storage.passwordResets.createPasswordReset(Self.reset(ghost, at: now)) == false)
        }
    }
}
