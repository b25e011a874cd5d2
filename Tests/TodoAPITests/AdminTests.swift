import Foundation
import HTTPTypes
import Testing
@testable import TodoAPI
import TodoCore

/// `SIGNUP=invite` and what admins do under `/api/admin`.
@Suite struct AdminTests {
    static func signUpBody(_ email: String, invitation: String? = nil) -> String {
        #"{"email": "\#(email)", "password": "correct horse""# + (invitation.map { #", "invitation": "\#($0)""# } ?? "") + "}"
    }

    @Test func byInvitationOnlyTheInvitedEmailSignsUpAndOnlyOnce() async throws {
        try await APIHarness.run(configure: { $0.signUp = .invite }) { api in
            let uninvited = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ivy@example.com"))
            #expect(uninvited.status == .forbidden && uninvited.errorCode == "invitation_required")
            let (token, _) = try await Invitations.issue(email: "ivy@example.com", invitedBy: nil, in: api.storage.accounts)
            let otherEmail = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("eve@example.com", invitation: token))
            #expect(otherEmail.status == .badRequest && otherEmail.errorCode == "invalid_token")
            let madeUp = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ivy@example.com", invitation: "made-up"))
            #expect(madeUp.status == .badRequest && madeUp.errorCode == "invalid_token")
            let accepted = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("Ivy@Example.com", invitation: token))
            #expect(accepted.status == .created, "\(accepted.text)")
            let reused = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ivy@example.com", invitation: token))
            #expect(reused.status == .badRequest && reused.errorCode == "invalid_token")
            #expect(try await api.storage.accounts.allUsers().map(\.user.email) == ["ivy@example.com"])
        }
    }

    @Test func closedRefusesEvenAnInvitation() async throws {
        try await APIHarness.run(configure: { $0.signUp = .closed }) { api in
            let (token, _) = try await Invitations.issue(email: "ivy@example.com", invitedBy: nil, in: api.storage.accounts)
            let refused = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ivy@example.com", invitation: token))
            #expect(refused.status == .forbidden && refused.errorCode == "signup_closed")
        }
    }

    @Test func theFirstAccountOfTodoServeIsTheAdmin() async throws {
        try await APIHarness.run(configure: { $0.firstAccountIsAdmin = true }) { api in
            let first = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ada@example.com"))
            #expect((first.object["user"] as? [String: Any])?["admin"] as? Bool == true)
            let second = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("bob@example.com"))
            #expect((second.object["user"] as? [String: Any])?["admin"] as? Bool == false)
        }
        try await APIHarness.run { api in
            let first = try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ada@example.com"))
            #expect((first.object["user"] as? [String: Any])?["admin"] as? Bool == false)
        }
    }

    @Test func onlyAnAdminsLogInManagesAccounts() async throws {
        try await APIHarness.run(configure: { $0.firstAccountIsAdmin = true }) { api in
            let (admin, adminID) = try await api.signUp("ada@example.com")
            let (user, _) = try await api.signUp("bob@example.com")
            let refused = try await api.request(.get, "/api/admin/users", token: user)
            #expect(refused.status == .forbidden && refused.errorCode == "admin_required")
            #expect(try await api.request(.patch, "/api/admin/users/\(adminID)", token: user, body: #"{"disabled": true}"#).status == .forbidden)
            #expect(try await api.request(.get, "/api/admin/users").status == .unauthorized)
            let personal = try await AccountTests.personalToken(api, admin)
            #expect(try await api.request(.get, "/api/admin/users", token: personal).status == .forbidden)

            let list = try await api.request(.get, "/api/admin/users", token: admin)
            let items = try #require(list.object["items"] as? [[String: Any]])
            #expect(items.map { $0["email"] as? String } == ["ada@example.com", "bob@example.com"])
            #expect(items.map { $0["admin"] as? Bool } == [true, false] && items.map { $0["disabled"] as? Bool } == [false, false])
        }
    }

    @Test func anAdminDisablesAnAccountAtOnceButNeverTheirOwn() async throws {
        try await APIHarness.run(configure: { $0.firstAccountIsAdmin = true }) { api in
            let (admin, adminID) = try await api.signUp("ada@example.com")
            let (user, userID) = try await api.signUp("bob@example.com")
            let disabled = try await api.request(.patch, "/api/admin/users/\(userID)", token: admin, body: #"{"disabled": true}"#)
            #expect(disabled.status == .ok && disabled.object["disabled"] as? Bool == true)
            #expect(try await api.request(.get, "/api/auth/me", token: user).status == .unauthorized)
            let logIn = try await api.request(.post, "/api/auth/login", body: Self.signUpBody("bob@example.com"))
            #expect(logIn.status == .forbidden && logIn.errorCode == "account_disabled")
            let enabled = try await api.request(.patch, "/api/admin/users/\(userID)", token: admin, body: #"{"disabled": false, "admin": true}"#)
            #expect(enabled.object["disabled"] as? Bool == false && enabled.object["admin"] as? Bool == true)
            _ = try await api.logIn("bob@example.com")

            for change in [#"{"disabled": true}"#, #"{"admin": false}"#] {
                let own = try await api.request(.patch, "/api/admin/users/\(adminID)", token: admin, body: change)
                #expect(own.status == .conflict && own.errorCode == "own_account")
            }
            #expect(try await api.request(.get, "/api/auth/me", token: admin).status == .ok)
            #expect(try await api.request(.patch, "/api/admin/users/\(UUID().uuidString.lowercased())", token: admin, body: #"{"disabled": true}"#).status == .notFound)
            let unknownField = try await api.request(.patch, "/api/admin/users/\(userID)", token: admin, body: #"{"email": "x@example.com"}"#)
            #expect(unknownField.status == .unprocessableContent)
        }
    }

    @Test func anAdminsInvitationSignsUpUnderInvite() async throws {
        try await APIHarness.run(configure: { $0.firstAccountIsAdmin = true }) { api in
            let (admin, _) = try await api.signUp("ada@example.com")
            let taken = try await api.request(.post, "/api/admin/invitations", token: admin, body: #"{"email": "ada@example.com"}"#)
            #expect(taken.status == .conflict && taken.errorCode == "email_taken")
            let invalid = try await api.request(.post, "/api/admin/invitations", token: admin, body: #"{"email": "not an e-mail"}"#)
            #expect(invalid.status == .unprocessableContent)
            let made = try await api.request(.post, "/api/admin/invitations", token: admin, body: #"{"email": "Ivy@example.com"}"#)
            #expect(made.status == .created && made.object["email"] as? String == "ivy@example.com")
            let token = try #require(made.object["token"] as? String)
            #expect(try await api.request(.post, "/api/auth/signup", body: Self.signUpBody("ivy@example.com", invitation: token)).status == .created)
        }
    }
}
