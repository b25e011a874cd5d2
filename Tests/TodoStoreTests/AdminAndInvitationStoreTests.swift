import Foundation
import Testing
import TodoCore
import TodoStore

/// Admins and invitations to sign up, the same on every database.
@Suite struct AdminAndInvitationStoreTests {
    static let backends = Backend.available

    static func newUser(_ email: String? = nil, at now: Timestamp = .now()) -> User {
        let id = UUID().uuidString.lowercased()
        return User(id: id, email: email ?? "\(id)@example.com", name: nil, createdAt: now)
    }

    @Test(arguments: backends)
    func anInvitationCreatesTheAccountOfItsEmailOnce(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let invited = Self.newUser()
            try await storage.accounts.createInvitation(SignUpInvitation(email: invited.email, invitedBy: nil, createdAt: .now()), tokenHash: "h1")
            let stranger = Self.newUser()
            #expect(try await storage.accounts.createUser(stranger, passwordHash: "x", admin: .no, invitation: .token(hash: "h1")) == .invitationInvalid)
            #expect(try await storage.accounts.credentials(email: stranger.email) == nil)
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .token(hash: "unknown")) == .invitationInvalid)
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .token(hash: "h1")) == .created(invited))
            let again = Self.newUser(invited.email)
            #expect(try await storage.accounts.createUser(again, passwordHash: "x", admin: .no, invitation: .token(hash: "h1")) == .invitationInvalid)
        }
    }

    @Test(arguments: backends)
    func aVerifiedEmailUsesUpThePendingInvitationOfThatEmail(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let invited = Self.newUser(), stranger = Self.newUser()
            try await storage.accounts.createInvitation(SignUpInvitation(email: invited.email, invitedBy: nil, createdAt: .now()), tokenHash: "v-\(invited.id)")
            #expect(try await storage.accounts.createUser(stranger, passwordHash: "x", admin: .no, invitation: .verifiedEmail) == .invitationInvalid)
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .verifiedEmail) == .created(invited))
            try await storage.accounts.createInvitation(SignUpInvitation(email: stranger.email, invitedBy: nil, createdAt: .now()), tokenHash: "w-\(invited.id)")
            #expect(try await storage.accounts.createUser(stranger, passwordHash: "x", admin: .no, invitation: .token(hash: "v-\(invited.id)")) == .invitationInvalid)
        }
    }

    @Test(arguments: backends)
    func anExpiredOrReplacedInvitationIsRefused(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let invited = Self.newUser()
            let eightDaysAgo = Timestamp.now().adding(milliseconds: -8 * 86_400_000)
            try await storage.accounts.createInvitation(SignUpInvitation(email: invited.email, invitedBy: nil, createdAt: eightDaysAgo), tokenHash: "old")
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .token(hash: "old")) == .invitationInvalid)
            try await storage.accounts.createInvitation(SignUpInvitation(email: invited.email, invitedBy: nil, createdAt: .now()), tokenHash: "new-\(invited.id)")
            try await storage.accounts.createInvitation(SignUpInvitation(email: invited.email, invitedBy: nil, createdAt: .now()), tokenHash: "newer-\(invited.id)")
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .token(hash: "new-\(invited.id)")) == .invitationInvalid)
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .token(hash: "newer-\(invited.id)")) == .created(invited))
        }
    }

    @Test(arguments: backends)
    func pruningDropsOnlyExpiredInvitations(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let expired = Self.newUser(), pending = Self.newUser()
            let eightDaysAgo = Timestamp.now().adding(milliseconds: -8 * 86_400_000)
            try await storage.accounts.createInvitation(SignUpInvitation(email: expired.email, invitedBy: nil, createdAt: eightDaysAgo), tokenHash: "e-\(expired.id)")
            try await storage.accounts.createInvitation(SignUpInvitation(email: pending.email, invitedBy: nil, createdAt: .now()), tokenHash: "p-\(pending.id)")
            try await storage.accounts.pruneInvitations(before: .now())
            // An expired invitation was refused before too; after pruning, the pending one still works.
            #expect(try await storage.accounts.createUser(pending, passwordHash: "x", admin: .no, invitation: .token(hash: "p-\(pending.id)")) == .created(pending))
        }
    }

    @Test(arguments: backends)
    func adminsAreMadeAtCreationOrLaterAndSeenEverywhere(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            _ = try await makeUser(storage)
            // The database has accounts: "the first account" is someone else.
            guard case .created(let second) = try await storage.accounts.createUser(Self.newUser(), passwordHash: "x", admin: .ifFirstAccount, invitation: nil)
            else { Issue.record("not created"); return }
            #expect(!second.admin)
            guard case .created(let admin) = try await storage.accounts.createUser(Self.newUser(), passwordHash: "x", admin: .yes, invitation: nil)
            else { Issue.record("not created"); return }
            #expect(admin.admin)
            #expect(try await storage.accounts.user(id: admin.id)?.admin == true)
            #expect(try await storage.accounts.credentials(email: admin.email)?.user.admin == true)
            #expect(try await storage.accounts.setAdmin(true, userID: second.id))
            #expect(try await storage.accounts.allUsers().first { $0.user.id == second.id }?.user.admin == true)
            #expect(try await storage.accounts.setAdmin(false, userID: second.id))
            #expect(try await storage.accounts.user(id: second.id)?.admin == false)
            #expect(try await storage.accounts.setAdmin(true, userID: "no-such-account") == false)
        }
    }

    @Test(arguments: backends)
    func deletingAnAdminTakesTheirInvitationsAlong(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let admin = try await makeUser(storage)
            let invited = Self.newUser()
            try await storage.accounts.createInvitation(SignUpInvitation(email: invited.email, invitedBy: admin.id, createdAt: .now()), tokenHash: "a-\(admin.id)")
            #expect(try await storage.accounts.deleteUser(id: admin.id))
            #expect(try await storage.accounts.createUser(invited, passwordHash: "x", admin: .no, invitation: .token(hash: "a-\(admin.id)")) == .invitationInvalid)
        }
    }

    @Test(arguments: backends)
    func revokingTheCalendarFeedMovesItsGenerationOnAndADisabledAccountHasNone(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = Self.newUser()
            #expect(try await storage.accounts.createUser(user, passwordHash: "x", admin: .no, invitation: nil) == .created(user))
            #expect(try await storage.accounts.calendarFeedGeneration(userID: user.id) == 0)
            #expect(try await storage.accounts.revokeCalendarFeed(userID: user.id))
            #expect(try await storage.accounts.calendarFeedGeneration(userID: user.id) == 1)
            #expect(try await storage.accounts.setDisabled(true, userID: user.id))
            #expect(try await storage.accounts.calendarFeedGeneration(userID: user.id) == nil)
            #expect(try await storage.accounts.calendarFeedGeneration(userID: "nobody") == nil)
            let revokedNobody = try await storage.accounts.revokeCalendarFeed(userID: "nobody")
            #expect(!revokedNobody)
        }
    }
}
