import Foundation
import HTTPTypes
import Testing
import TodoAPI

/// Regression tests for input that once reached the database as text it cannot hold, or that
/// bcrypt would have cut short. The end-to-end matrix is tests/e2e/test_unicode.py.
@Suite struct HostileInputTests {
    @Test func passwordWithNULIsRefusedAtSignUp() async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.post, "/api/auth/signup", body: #"{"email": "a@b.co", "password": "correct horse\u0000x"}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == ["password"])
        }
    }

    @Test func passwordWithNULNeverMatchesTheTextBeforeIt() async throws {
        try await APIHarness.run { api in
            _ = try await api.signUp("ann@example.com", password: "correct horse")
            let reply = try await api.request(.post, "/api/auth/login", body: #"{"email": "ann@example.com", "password": "correct horse\u0000evil"}"#)
            #expect(reply.status == .unauthorized)
        }
    }

    @Test(arguments: [#""email": "a\u0000b@example.com""#, #""email": "not an e-mail""#])
    func logInWithAMalformedEmailIs401(_ email: String) async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.post, "/api/auth/login", body: #"{\#(email), "password": "correct horse"}"#)
            #expect(reply.status == .unauthorized)
        }
    }

    @Test(arguments: [#"a\u0000b"#, #"a\u001bb"#, #"a\u0085b"#])
    func chatMessageWithControlCharactersIs422(_ message: String) async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let reply = try await api.request(.post, "/api/me/chat", token: token, body: #"{"message": "\#(message)"}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == ["message"])
            let conversations = try await api.request(.get, "/api/me/conversations", token: token)
            #expect((conversations.object["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test(arguments: ["a%00b", "not-a-uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"])
    func malformedConversationAndTokenIDsAre404(_ id: String) async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            #expect(try await api.request(.get, "/api/me/conversations/\(id)/messages", token: token).status == .notFound)
            #expect(try await api.request(.delete, "/api/tokens/\(id)", token: token).status == .notFound)
            let chat = try await api.request(.post, "/api/me/chat", token: token, body: #"{"message": "hi", "conversation_id": "\#(id)"}"#)
            #expect(chat.status == .notFound)
        }
    }
}
