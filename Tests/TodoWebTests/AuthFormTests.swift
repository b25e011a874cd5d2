import Foundation
import HTTPTypes
import Testing
import TodoClient
import TodoCore
@testable import TodoWeb

/// Log-in, sign-up and log-out through the forms: the CSRF token, the session cookie, the redirect.
@Suite struct AuthFormTests {
    static func newEmail() -> String { "user-\(UUID().uuidString.prefix(8).lowercased())@example.com" }

    @Test func aNewVisitorGetsAVisitorCookieAndAFormCarryingTheCSRFTokenDerivedFromIt() async throws {
        try await WebHarness.run { web in
            let page = try await web.request(.get, "/login")
            #expect(page.status == .ok)
            let visitor = try #require(page.cookie(Session.visitorCookieName))
            #expect(visitor.attributes["HttpOnly"] != nil)
            #expect(visitor.attributes["SameSite"] == "Lax")
            let csrf = try #require(page.csrf)
            #expect(csrf == Session.csrfToken(forKey: visitor.value))
            #expect(page.inputValue("_csrf") == csrf)
            // The same visitor keeps its cookie and token.
            let again = try await web.request(.get, "/signup", cookies: [Session.visitorCookieName: visitor.value])
            #expect(again.cookie(Session.visitorCookieName) == nil)
            #expect(again.csrf == csrf)
        }
    }

    @Test func signingUpThroughTheFormSetsAnHttpOnlySameSiteSessionCookieAndGoesHome() async throws {
        try await WebHarness.run { web in
            let (cookies, csrf) = try await web.visitor("/signup")
            let email = Self.newEmail()
            let reply = try await web.request(.post, "/signup", cookies: cookies, form: [
                ("_csrf", csrf), ("email", email), ("password", LiveBackend.password), ("name", "  Pat  "),
            ])
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/")
            #expect(reply.headers[.cacheControl] == "no-store")
            let session = try #require(reply.cookie(Session.cookieName))
            #expect(session.attributes["HttpOnly"] != nil)
            #expect(session.attributes["SameSite"] == "Lax")
            #expect(session.attributes["Path"] == "/")
            #expect(session.attributes["Secure"] == nil)
            let maxAge = try #require(session.attributes["Max-Age"].flatMap(Int.init))
            #expect((60...86_400).contains(maxAge))
            let user = try await web.api.client.me(token: session.value)
            #expect(user.email == email && user.name == "Pat")
        }
    }

    @Test func theSessionCookieNeverOutlivesTheConfiguredSessionLifetime() async throws {
        try await WebHarness.run(web: { $0.sessionLifetime = .seconds(600) }) { web in
            let (cookies, csrf) = try await web.visitor()
            let account = try await web.signedIn()
            let reply = try await web.request(.post, "/login", cookies: cookies, form: [
                ("_csrf", csrf), ("email", account.email), ("password", LiveBackend.password),
            ])
            #expect(reply.cookie(Session.cookieName)?.attributes["Max-Age"] == "600")
        }
    }

    @Test func behindHTTPSTheCookiesAreSecureAndStrictTransportSecurityIsSent() async throws {
        try await WebHarness.run { web in
            let https: HTTPFields = [.xForwardedProto: "https"]
            let page = try await web.request(.get, "/signup", headers: https)
            #expect(page.cookie(Session.visitorCookieName)?.attributes["Secure"] != nil)
            #expect(page.headers[.strictTransportSecurity] == "max-age=31536000")
            let reply = try await web.request(.post, "/signup", cookies: [Session.visitorCookieName: try #require(page.cookie(Session.visitorCookieName)).value],
                                              headers: https, form: [
                ("_csrf", try #require(page.csrf)), ("email", Self.newEmail()), ("password", LiveBackend.password),
            ])
            #expect(reply.cookie(Session.cookieName)?.attributes["Secure"] != nil)
            // Plain HTTP gets neither.
            let plain = try await web.request(.get, "/login")
            #expect(plain.headers[.strictTransportSecurity] == nil)
        }
    }

    @Test func withCookieSecureAlwaysTheCookieIsSecureOverPlainHTTPToo() async throws {
        try await WebHarness.run(web: { $0.cookieSecure = .always }) { web in
            let page = try await web.request(.get, "/login")
            #expect(page.cookie(Session.visitorCookieName)?.attributes["Secure"] != nil)
        }
    }

    @Test func logInGoesToTheLocalNextPathItWasGivenAndNowhereElse() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let (cookies, csrf) = try await web.visitor()
            for (next, target) in [("/tasks/7?return_to=%2F", "/tasks/7?return_to=%2F"), ("//evil.example/", "/"), ("https://evil.example/", "/")] {
                let reply = try await web.request(.post, "/login", cookies: cookies, form: [
                    ("_csrf", csrf), ("email", account.email.uppercased()), ("password", LiveBackend.password), ("next", next),
                ])
                #expect(reply.status == .seeOther)
                #expect(reply.location == target, "\(next)")
            }
            // The log-in page puts `next` from its address into the form.
            let page = try await web.request(.get, "/login?next=%2Fsettings", cookies: cookies)
            #expect(page.inputValue("next") == "/settings")
        }
    }

    /// Browsers drop tabs from URLs: `/<TAB>/evil.example` takes them to evil.example.
    @Test func logInDoesNotRedirectToAnotherSiteSpelledWithATab() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let (cookies, csrf) = try await web.visitor()
            let reply = try await web.request(.post, "/login", cookies: cookies, form: [
                ("_csrf", csrf), ("email", account.email), ("password", LiveBackend.password), ("next", "/\t/evil.example"),
            ])
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/")
        }
    }

    @Test func aSignedInVisitorOpeningTheLogInPageGoesStraightToNext() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.get, "/login?next=%2Fsettings", cookies: account.cookies)
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/settings")
            #expect(try await web.request(.get, "/signup", cookies: account.cookies).location == "/")
        }
    }

    @Test func aFormWithoutItsCSRFTokenOrWithAnotherVisitorsIsRefusedWith403() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let (cookies, _) = try await web.visitor()
            let (_, strangersToken) = try await web.visitor()
            for token in [nil, strangersToken, ""] as [String?] {
                var form = [("email", account.email), ("password", LiveBackend.password)]
                if let token { form.append(("_csrf", token)) }
                let reply = try await web.request(.post, "/login", cookies: cookies, form: form)
                #expect(reply.status == .forbidden, "\(token ?? "no token")")
                #expect(reply.cookie(Session.cookieName) == nil)
            }
        }
    }

    @Test func aFormTheBrowserMarksAsCrossSiteIsRefusedEvenWithTheRightToken() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.post, "/tasks", cookies: account.cookies, headers: [.secFetchSite: "cross-site"],
                                              form: [("_csrf", account.csrf), ("text", "From elsewhere")])
            #expect(reply.status == .forbidden)
            #expect(try await web.api.client.listTasks(token: account.token).items.isEmpty)
        }
    }

    @Test func aPostThatIsNotAFormIsRefusedWith400() async throws {
        try await WebHarness.run { web in
            let (cookies, _) = try await web.visitor()
            let reply = try await web.request(.post, "/login", cookies: cookies, headers: [.contentType: "application/json"],
                                              body: #"{"email": "a@b.co"}"#)
            #expect(reply.status == .badRequest)
        }
    }

    @Test func aWrongPasswordShowsTheFormAgainWith401KeepingTheEmailAndNext() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let (cookies, csrf) = try await web.visitor()
            let reply = try await web.request(.post, "/login", cookies: cookies, form: [
                ("_csrf", csrf), ("email", account.email), ("password", "not the password"), ("next", "/settings"),
            ])
            #expect(reply.status == .unauthorized)
            #expect(reply.text.contains("Wrong e-mail or password."))
            #expect(reply.inputValue("email") == account.email)
            #expect(reply.inputValue("next") == "/settings")
            #expect(reply.cookie(Session.cookieName) == nil)
        }
    }

    @Test func tooManyFailedLogInsShowTheFormWith429() async throws {
        try await WebHarness.run(backend: { $0.loginAttemptLimit = 1 }) { web in
            let account = try await web.signedIn()
            let (cookies, csrf) = try await web.visitor()
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<2 {
                statuses.append(try await web.request(.post, "/login", cookies: cookies, form: [
                    ("_csrf", csrf), ("email", account.email), ("password", "not the password"),
                ]).status)
            }
            #expect(statuses == [.unauthorized, .tooManyRequests])
        }
    }

    @Test func signingUpWithATakenEmailAnswers409AndAnInvalidFormAnswers422WithEachProblem() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let (cookies, csrf) = try await web.visitor("/signup")
            let taken = try await web.request(.post, "/signup", cookies: cookies, form: [
                ("_csrf", csrf), ("email", account.email), ("password", LiveBackend.password), ("name", "Sam"),
            ])
            #expect(taken.status == .conflict)
            #expect(taken.text.contains("already exists"))
            #expect(taken.inputValue("name") == "Sam")

            let invalid = try await web.request(.post, "/signup", cookies: cookies, form: [
                ("_csrf", csrf), ("email", "not-an-email"), ("password", "short"),
            ])
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.text.contains("E-mail must be an e-mail address"))
            #expect(invalid.text.contains("Password must be 8 to 72 bytes"))
            #expect(invalid.inputValue("email") == "not-an-email")
        }
    }

    @Test func loggingOutExpiresTheSessionCookie() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.post, "/logout", cookies: account.cookies, form: [("_csrf", account.csrf)])
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/login")
            let cookie = try #require(reply.cookie(Session.cookieName))
            #expect(cookie.value.isEmpty)
            #expect(cookie.attributes["Max-Age"] == "0")
        }
    }

    @Test func aPageWithoutASessionSendsTheVisitorToLogInAndBack() async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, "/tasks/7?return_to=%2F%3Fstatus%3Dall")
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/login?next=/tasks/7%3Freturn_to%3D%252F%253Fstatus%253Dall")
            #expect(try await web.request(.get, "/").location == "/login")
        }
    }

    @Test func aSessionTheBackendNoLongerAcceptsIsClearedOnTheWayToLogIn() async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, "/settings", cookies: [Session.cookieName: "expired-token"])
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/login?next=/settings")
            #expect(reply.cookie(Session.cookieName)?.attributes["Max-Age"] == "0")
        }
    }
}
