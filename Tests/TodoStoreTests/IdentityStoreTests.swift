import Foundation
import Testing
import TodoCore
import TodoStore

/// Single sign-on identities linked to accounts, the same on every database.
@Suite struct IdentityStoreTests {
    static let backends = Backend.available

    @Test(arguments: backends)
    func aLinkedIdentityFindsItsAccountUntilTheAccountIsDeleted(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage), other = try await makeUser(storage)
            let identity = ExternalIdentity(issuer: "https://id.example.com", subject: "subject-\(UUID().uuidString)")
            #expect(try await storage.accounts.account(linkedTo: identity) == nil)
            #expect(try await storage.accounts.link(identity, to: user.id, at: .now()))
            #expect(try await storage.accounts.account(linkedTo: identity) == Account(user: user, disabled: false))
            // Linked once: a second link (to anyone) changes nothing.
            #expect(try await storage.accounts.link(identity, to: other.id, at: .now()))
            #expect(try await storage.accounts.account(linkedTo: identity)?.user.id == user.id)
            // The same subject at another issuer is another identity.
            #expect(try await storage.accounts.account(linkedTo: ExternalIdentity(issuer: "https://other.example.com", subject: identity.subject)) == nil)
            #expect(try await storage.accounts.setDisabled(true, userID: user.id))
            #expect(try await storage.accounts.account(linkedTo: identity)?.disabled == true)
            #expect(try await storage.accounts.deleteUser(id: user.id))
            #expect(try await storage.accounts.account(linkedTo: identity) == nil)
            #expect(try await storage.accounts.link(identity, to: user.id, at: .now()) == false)
        }
    }
}
