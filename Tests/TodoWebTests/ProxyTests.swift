import Foundation
import HTTPTypes
import Testing
import TodoTestSupport
import TodoClient
import TodoCore
import TodoServer
@testable import TodoWeb

/// `/api/*` passed to the backend: the session cookie as a bearer token, CSRF for changes,
/// status, headers and body passed back, the request id carried across.
@Suite struct ProxyTests {
    @Test func aCallIsAnsweredWithTheBackendsStatusBodyAndHeaders() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let created = try await web.request(.post, "/api/me/tasks", cookies: account.cookies,
                                                headers: [.xCSRFToken: account.csrf, .contentType: "application/json"],
                                                body: #"{"title": "Through the proxy", "tags": ["Web"]}"#)
            #expect(created.status == .created)
            #expect(created.headers[.eTag] != nil)
            #expect(created.headers[.location]?.hasPrefix("/api/me/tasks/") == true)
            #expect(created.headers[.contentType] == "application/json; charset=utf-8")
            #expect(created.json["title"] as? String == "Through the proxy")
            #expect(created.json["tags"] as? [String] == ["web"])

            let listed = try await web.request(.get, "/api/me/tasks?sort=title&limit=1", cookies: account.cookies)
            #expect(listed.status == .ok)
            #expect((listed.json["items"] as? [[String: Any]])?.first?["title"] as? String == "Through the proxy")
        }
    }

    @Test func theBackendsErrorsPassThroughUnchanged() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let missing = try await web.request(.get, "/api/me/tasks/999999", cookies: account.cookies)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
            let invalid = try await web.request(.post, "/api/me/tasks", cookies: account.cookies,
                                                headers: [.xCSRFToken: account.csrf, .contentType: "application/json"], body: #"{"title": ""}"#)
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.errorCode == "validation_failed")
            let stale = try await web.request(.patch, "/api/me/tasks/999999", cookies: account.cookies,
                                              headers: [.xCSRFToken: account.csrf, .ifMatch: "\"1\"", .contentType: "application/json"],
                                              body: #"{"title": "x"}"#)
            #expect(stale.status == .notFound)
        }
    }

    @Test func anIfMatchHeaderIsForwardedSoAStaleVersionGets412() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Versioned"))
            let etag = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)
            var patch = TaskPatch()
            patch.title = "Changed"
            _ = try await web.api.client.updateTask(token: account.token, id: task.id, patch: patch)
            let reply = try await web.request(.patch, "/api/me/tasks/\(task.id)", cookies: account.cookies,
                                              headers: [.xCSRFToken: account.csrf, .ifMatch: etag, .contentType: "application/json"],
                                              body: #"{"title": "From a stale page"}"#)
            #expect(reply.status == .preconditionFailed)
            #expect(reply.errorCode == "precondition_failed")
        }
    }

    @Test func theRequestIDReachesTheBackendAndComesBack() async throws {
        try await WebHarness.run(backend: { $0.accessLog = true }) { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.get, "/api/me/tasks", cookies: account.cookies, headers: [.xRequestID: "web-test-42"])
            #expect(reply.status == .ok)
            #expect(reply.headers[.xRequestID] == "web-test-42")
            let seen = try web.api.log.all.filter { $0.message == "request" && $0.metadata["path"] == "/api/me/tasks" }
            #expect(seen.map { $0.metadata["request_id"]?.description } == ["web-test-42"])

            // Without one, the id the web server made up is the one the backend logs.
            let anonymous = try await web.request(.get, "/api/auth/me", cookies: account.cookies)
            let made = try #require(anonymous.headers[.xRequestID])
            #expect(try web.api.log.all.contains { $0.metadata["path"] == "/api/auth/me" && $0.metadata["request_id"]?.description == made })
        }
    }

    @Test func aChangeAuthenticatedByTheCookieNeedsTheCSRFHeader() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            for token in [nil, Session.csrfToken(forKey: "another session")] as [String?] {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let token { headers[.xCSRFToken] = token }
                let refused = try await web.request(.post, "/api/me/tasks", cookies: account.cookies, headers: headers, body: #"{"title": "x"}"#)
                #expect(refused.status == .forbidden)
                #expect(refused.errorCode == "csrf")
            }
            #expect(try await web.api.client.listTasks(token: account.token).items.isEmpty)
            // Reading needs no token.
            #expect(try await web.request(.get, "/api/me/tasks", cookies: account.cookies).status == .ok)
        }
    }

    @Test func aBearerTokenNeedsNoCSRFHeaderAndWinsOverTheCookie() async throws {
        try await WebHarness.run { web in
            let cookieOwner = try await web.signedIn()
            let script = try await web.signedIn()
            let reply = try await web.request(.post, "/api/me/tasks", cookies: cookieOwner.cookies,
                                              headers: [.authorization: "Bearer \(script.token)", .contentType: "application/json"],
                                              body: #"{"title": "By script"}"#)
            #expect(reply.status == .created)
            #expect(try await web.api.client.listTasks(token: script.token).items.map(\.fields.title) == ["By script"])
            #expect(try await web.api.client.listTasks(token: cookieOwner.token).items.isEmpty)
        }
    }

    @Test func withoutASessionTheBackendsOwn401ComesThroughWithoutTouchingCookies() async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, "/api/me/tasks")
            #expect(reply.status == .unauthorized)
            #expect(reply.errorCode == "unauthorized")
            #expect(reply.headers[.wwwAuthenticate] == "Bearer")
            #expect(reply.cookie(Session.cookieName) == nil)
        }
    }

    @Test func aSessionTheBackendRefusesGets401AndTheCookieIsCleared() async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, "/api/me/tasks", cookies: [Session.cookieName: "expired-token"])
            #expect(reply.status == .unauthorized)
            #expect(reply.cookie(Session.cookieName)?.attributes["Max-Age"] == "0")
        }
    }

    @Test(arguments: ["/api/%2e%2e/healthz", "/api/me/%2E%2E/%2e%2e/readyz", "/api/me/tasks/..%2f..%2fhealthz", "/api/./me/tasks"])
    func aPathThatWouldLeaveTheAPIIsRefusedWith400(_ path: String) async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, path)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "invalid_path")
        }
    }

    @Test func aBodyLargerThanTheLimitIsRefusedWith413BeforeReachingTheBackend() async throws {
        try await WebHarness.run(web: { $0.maxBodySize = 64 }) { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.post, "/api/me/tasks", cookies: account.cookies,
                                              headers: [.xCSRFToken: account.csrf, .contentType: "application/json"],
                                              body: #"{"title": "\#(String(repeating: "x", count: 100))"}"#)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "payload_too_large")
            #expect(try await web.api.client.listTasks(token: account.token).items.isEmpty)
        }
    }
}
