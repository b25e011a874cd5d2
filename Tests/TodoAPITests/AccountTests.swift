import Foundation
import HTTPTypes
import Testing
@testable import TodoAPI
import TodoCore

/// Changing the password, deleting the account, and what a disabled account can still do.
@Suite struct AccountTests {
    static func personalToken(_ api: APIHarness, _ token: String) async throws -> String {
        try #require(try await api.request(.post, "/api/tokens", token: token, body: #"{"name": "script"}"#).object["token"] as? String)
    }

    @Test func changingThePasswordEndsEveryOtherSessionButKeepsThisOneAndPersonalTokens() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp("pat@example.com")
            let other = try await api.logIn("pat@example.com")
            let personal = try await Self.personalToken(api, token)
            let wrong = try await api.request(.post, "/api/auth/password", token: token,
                                              body: #"{"current_password": "not it at all", "new_password": "a new password"}"#)
            #expect(wrong.status == .forbidden && wrong.errorCode == "wrong_password")
            let short = try await api.request(.post, "/api/auth/password", token: token,
                                              body: #"{"current_password": "correct horse", "new_password": "short"}"#)
            #expect(short.status == .unprocessableContent && short.errorFields == ["new_password"])
            #expect(try await api.request(.post, "/api/auth/password", token: personal,
                                          body: #"{"current_password": "correct horse", "new_password": "a new password"}"#).status == .forbidden)
            #expect(try await api.request(.get, "/api/auth/me", token: other).status == .ok)

            let changed = try await api.request(.post, "/api/auth/password", token: token,
                                                body: #"{"current_password": "correct horse", "new_password": "a new password"}"#)
            #expect(changed.status == .noContent)
            #expect(try await api.request(.get, "/api/auth/me", token: other).status == .unauthorized)
            #expect(try await api.request(.get, "/api/auth/me", token: token).status == .ok)
            #expect(try await api.request(.get, "/api/auth/me", token: personal).status == .ok)
            let old = try await api.request(.post, "/api/auth/login", body: #"{"email": "pat@example.com", "password": "correct horse"}"#)
            #expect(old.status == .unauthorized)
            _ = try await api.logIn("pat@example.com", password: "a new password")
        }
    }

    @Test func changingThePasswordCanRevokeThePersonalTokensToo() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp("quin@example.com")
            let personal = try await Self.personalToken(api, token)
            let changed = try await api.request(.post, "/api/auth/password", token: token, body: """
                {"current_password": "correct horse", "new_password": "a new password", "revoke_api_tokens": true}
                """)
            #expect(changed.status == .noContent)
            #expect(try await api.request(.get, "/api/auth/me", token: personal).status == .unauthorized)
            #expect(try await api.request(.get, "/api/tokens", token: token).object["items"] as? [Any] != nil)
        }
    }

    @Test func deletingTheAccountNeedsThePasswordAndFreesTheEmail() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp("rae@example.com")
            _ = try await api.createTask(token, #"{"title": "mine"}"#)
            let personal = try await Self.personalToken(api, token)
            let wrong = try await api.request(.delete, "/api/auth/me", token: token, body: #"{"password": "not it at all"}"#)
            #expect(wrong.status == .forbidden && wrong.errorCode == "wrong_password")
            #expect(try await api.request(.delete, "/api/auth/me", token: personal, body: #"{"password": "correct horse"}"#).status == .forbidden)
            #expect(try await api.request(.delete, "/api/auth/me", token: token, body: #"{"password": "correct horse"}"#).status == .noContent)
            for credential in [token, personal] {
                #expect(try await api.request(.get, "/api/me/tasks", token: credential).status == .unauthorized)
            }
            let (again, _) = try await api.signUp("rae@example.com")
            #expect((try await api.request(.get, "/api/me/tasks", token: again).object["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func aDisabledAccountIsToldSoOnlyWithTheRightPasswordAndItsTokensStop() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp("sam@example.com")
            let personal = try await Self.personalToken(api, token)
            #expect(try await api.storage.accounts.setDisabled(true, userID: userID))
            let right = try await api.request(.post, "/api/auth/login", body: #"{"email": "sam@example.com", "password": "correct horse"}"#)
            #expect(right.status == .forbidden && right.errorCode == "account_disabled")
            let wrong = try await api.request(.post, "/api/auth/login", body: #"{"email": "sam@example.com", "password": "not it at all"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(try await api.request(.get, "/api/auth/me", token: personal).status == .unauthorized)
            try await Task.sleep(for: LiveSessions.recheckInterval + .milliseconds(100))
            #expect(try await api.request(.get, "/api/auth/me", token: token).status == .unauthorized)
            #expect(try await api.storage.accounts.setDisabled(false, userID: userID))
            #expect(try await api.request(.get, "/api/auth/me", token: token).status == .ok)
        }
    }

    @Test func withSignUpClosedOnlyOperatorsMakeAccounts() async throws {
        try await APIHarness.run(configure: { $0.signUp = .closed }) { api in
            let refused = try await api.request(.post, "/api/auth/signup", body: #"{"email": "tom@example.com", "password": "long enough"}"#)
            #expect(refused.status == .forbidden && refused.errorCode == "signup_closed")
            #expect(try await api.storage.accounts.credentials(email: "tom@example.com") == nil)
            let user = User(id: UUID().uuidString.lowercased(), email: "uma@example.com", name: nil, createdAt: .now())
            _ = try await api.storage.accounts.createUser(user, passwordHash: try await PasswordHasher(cost: 4).hash("long enough"))
            let logIn = try await api.request(.post, "/api/auth/login", body: #"{"email": "uma@example.com", "password": "long enough"}"#)
            #expect(logIn.status == .ok)
        }
    }
}
