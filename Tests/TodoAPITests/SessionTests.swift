import Foundation
import HTTPTypes
import Testing
@testable import TodoAPI

/// Log-out ends a session for real: the access token stops working, not only the cookie.
@Suite struct SessionTests {
    @Test func logOutEndsTheSessionOfThePresentedToken() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp("ann@example.com")
            let other = try await api.logIn("ann@example.com")
            #expect(try await api.request(.get, "/api/me/tasks", token: token).status == .ok)
            #expect(try await api.request(.post, "/api/auth/logout", token: token).status == .noContent)
            let after = try await api.request(.get, "/api/me/tasks", token: token)
            #expect(after.status == .unauthorized)
            #expect(after.errorCode == "unauthorized")
            // Only that session: the other log-in goes on.
            #expect(try await api.request(.get, "/api/me/tasks", token: other).status == .ok)
        }
    }

    @Test func logOutEverywhereEndsEveryLogInButNotPersonalTokens() async throws {
        try await APIHarness.run { api in
            let (first, _) = try await api.signUp("bob@example.com")
            let second = try await api.logIn("bob@example.com")
            let personal = try #require(try await api.request(.post, "/api/tokens", token: first, body: #"{"name": "script"}"#)
                .object["token"] as? String)
            #expect(try await api.request(.post, "/api/auth/logout-all", token: personal).status == .forbidden)
            #expect(try await api.request(.post, "/api/auth/logout-all", token: second).status == .noContent)
            for token in [first, second] {
                #expect(try await api.request(.get, "/api/auth/me", token: token).status == .unauthorized)
            }
            #expect(try await api.request(.get, "/api/auth/me", token: personal).status == .ok)
            // A personal token has no session to end: log-out leaves it working.
            #expect(try await api.request(.post, "/api/auth/logout", token: personal).status == .noContent)
            #expect(try await api.request(.get, "/api/auth/me", token: personal).status == .ok)
        }
    }

    @Test func theSessionsListShowsEachLogInAndEndsOne() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp("cy@example.com")
            let phone = try await api.logIn("cy@example.com", headers: [.userAgent: "Phone/1.0\u{7}"])
            let listed = try await api.request(.get, "/api/auth/sessions", token: token)
            #expect(listed.status == .ok)
            let items = try #require(listed.object["items"] as? [[String: Any]])
            #expect(items.count == 2)
            #expect(items.filter { $0["current"] as? Bool == true }.count == 1)
            let phoneSession = try #require(items.first { $0["user_agent"] as? String == "Phone/1.0" })
            #expect(Set(phoneSession.keys) == ["id", "created_at", "last_used_at", "user_agent", "current"])
            let id = try #require(phoneSession["id"] as? String)

            // Another user cannot end it, and unknown ids are 404 like any missing thing.
            let (stranger, _) = try await api.signUp("dee@example.com")
            #expect(try await api.request(.delete, "/api/auth/sessions/\(id)", token: stranger).status == .notFound)
            #expect(try await api.request(.delete, "/api/auth/sessions/not-a-uuid", token: token).status == .notFound)
            #expect(try await api.request(.get, "/api/auth/me", token: phone).status == .ok)

            #expect(try await api.request(.delete, "/api/auth/sessions/\(id)", token: token).status == .noContent)
            #expect(try await api.request(.get, "/api/auth/me", token: phone).status == .unauthorized)
            #expect(try await api.request(.get, "/api/auth/me", token: token).status == .ok)
            #expect(try await api.request(.delete, "/api/auth/sessions/\(id)", token: token).status == .notFound)
        }
    }
}
