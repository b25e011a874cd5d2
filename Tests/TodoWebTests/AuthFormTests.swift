import Foundation
import HTTPTypes
import Testing
import TodoTestSupport
import TodoAPI
import TodoClient
import TodoCore
import TodoServer
@testable import TodoWeb

/// Log-in, sign-up and log-out through the forms: the CSRF token, the session cookie, the redirect.
@Suite struct AuthFormTests {
    /// Whether the backend answered 401.
    static func refused(_ error: TodoClientError?) -> Bool {
        if case .unauthorized? = error { true } else { false }
    }

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

    /// Over HTTPS (a trusted proxy says so: here the loopback peer) the cookies are `Secure` and
    /// `__Host-` prefixed, and only the prefixed session cookie is read.
    @Test func behindHTTPSTheCookiesAreSecureHostPrefixedAndStrictTransportSecurityIsSent() async throws {
        try await WebHarness.run(testing: .live) { web in
            let https: HTTPFields = [.xForwardedProto: "https"]
            let page = try await web.request(.get, "/signup", headers: https)
            let visitor = try #require(page.cookie("__Host-todo_visitor"))
            #expect(visitor.attributes["Secure"] != nil && visitor.attributes["Path"] == "/" && visitor.attributes["Domain"] == nil)
            #expect(page.cookie(Session.visitorCookieName) == nil)
            #expect(page.headers[.strictTransportSecurity] == "max-age=31536000")
            let reply = try await web.request(.post, "/signup", cookies: ["__Host-todo_visitor": visitor.value], headers: https, form: [
                ("_csrf", try #require(page.csrf)), ("email", Self.newEmail()), ("password", LiveBackend.password),
            ])
            let session = try #require(reply.cookie("__Host-todo_session"))
            #expect(session.attributes["Secure"] != nil && session.attributes["Path"] == "/" && session.attributes["Domain"] == nil)
            #expect(try await web.request(.get, "/settings", cookies: ["__Host-todo_session": session.value], headers: https).status == .ok)
            // A cookie without the prefix (planted by a neighbouring site or plain HTTP) is no session over HTTPS.
            let planted = try await web.request(.get, "/settings", cookies: [Session.cookieName: session.value], headers: https)
            #expect(planted.status == .seeOther)
            // Plain HTTP gets neither.
            let plain = try await web.request(.get, "/login")
            #expect(plain.headers[.strictTransportSecurity] == nil)
            #expect(plain.cookie(Session.visitorCookieName)?.attributes["Secure"] == nil)
        }
    }

    /// `X-Forwarded-Proto` is the word of whoever sent the request: only a trusted proxy's counts.
    @Test func aClientThatIsNoTrustedProxyCannotClaimHTTPS() async throws {
        try await WebHarness.run(web: { $0.trustedProxies = TrustedProxies([IPNetwork("10.0.0.0/8")!]) }, testing: .live) { web in
            let page = try await web.request(.get, "/signup", headers: [.xForwardedProto: "https"])
            #expect(page.cookie(Session.visitorCookieName) != nil)
            #expect(page.cookie("__Host-todo_visitor") == nil)
            #expect(page.headers[.strictTransportSecurity] == nil)
        }
    }

    @Test func withCookieSecureAlwaysTheCookieIsSecureOverPlainHTTPToo() async throws {
        try await WebHarness.run(web: { $0.cookieSecure = .always }) { web in
            let page = try await web.request(.get, "/login")
            #expect(page.cookie("__Host-todo_visitor")?.attributes["Secure"] != nil)
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
            // The token itself is revoked: a copy of the cookie (or the token) no longer works.
            #expect(Self.refused(await clientError { try await web.api.client.me(token: account.token) }))
            #expect(try await web.request(.get, "/settings", cookies: account.cookies).location == "/login?next=/settings")
        }
    }

    @Test func theSettingsPageListsSessionsAndSignsOutOneOrEverywhere() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let phone = try await web.api.client.logIn(
                email: account.email, password: LiveBackend.password,
                for: .init(forwardedFor: nil, userAgent: "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36"))
            let page = try await web.request(.get, "/settings", cookies: account.cookies)
            #expect(page.text.contains("Chrome on Android"))
            #expect(page.text.contains("This browser"))
            let phoneSession = try #require(try await web.api.client.listSessions(token: account.token).first { !$0.current })
            let ended = try await web.request(.post, "/settings/sessions/\(phoneSession.id)/delete", cookies: account.cookies,
                                              form: [("_csrf", account.csrf)])
            #expect(ended.location == "/settings#sessions")
            #expect(Self.refused(await clientError { try await web.api.client.me(token: phone.token) }))
            #expect(try await web.api.client.me(token: account.token).email == account.email)

            let other = try await web.api.client.logIn(email: account.email, password: LiveBackend.password)
            let everywhere = try await web.request(.post, "/settings/sessions/sign-out-everywhere", cookies: account.cookies,
                                                   form: [("_csrf", account.csrf)])
            #expect(everywhere.location == "/login")
            #expect(everywhere.cookie(Session.cookieName)?.attributes["Max-Age"] == "0")
            for token in [account.token, other.token] {
                #expect(Self.refused(await clientError { try await web.api.client.me(token: token) }))
            }
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

/// The account's password and the account itself, from the settings page.
@Suite struct AccountSettingsTests {
    @Test func changingThePasswordSignsOutTheOtherSessionsAndKeepsThisOne() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let other = try await web.api.client.logIn(email: account.email, password: LiveBackend.password)
            let mismatch = try await web.request(.post, "/settings/password", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("current_password", LiveBackend.password), ("new_password", "a new password"),
                ("confirm_password", "another one"),
            ])
            #expect(mismatch.status == .unprocessableContent && mismatch.text.contains("differ"))
            let wrong = try await web.request(.post, "/settings/password", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("current_password", "not the password"), ("new_password", "a new password"),
                ("confirm_password", "a new password"),
            ])
            #expect(wrong.status == .forbidden && wrong.text.contains("The current password is wrong."))
            let changed = try await web.request(.post, "/settings/password", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("current_password", LiveBackend.password), ("new_password", "a new password"),
                ("confirm_password", "a new password"),
            ])
            #expect(changed.status == .ok && changed.text.contains("Password changed."))
            #expect(AuthFormTests.refused(await clientError { try await web.api.client.me(token: other.token) }))
            #expect(try await web.request(.get, "/settings", cookies: account.cookies).status == .ok)
        }
    }

    @Test func deletingTheAccountNeedsThePasswordThenSignsOut() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let page = try await web.request(.get, "/settings", cookies: account.cookies)
            #expect(page.text.contains("Download an export first"))
            let wrong = try await web.request(.post, "/settings/delete-account", cookies: account.cookies,
                                              form: [("_csrf", account.csrf), ("password", "not the password")])
            #expect(wrong.status == .forbidden && wrong.text.contains("was not deleted"))
            let deleted = try await web.request(.post, "/settings/delete-account", cookies: account.cookies,
                                                form: [("_csrf", account.csrf), ("password", LiveBackend.password)])
            #expect(deleted.location == "/login")
            #expect(deleted.cookie(Session.cookieName)?.attributes["Max-Age"] == "0")
            let logIn = await clientError { try await web.api.client.logIn(email: account.email, password: LiveBackend.password) }
            #expect(AuthFormTests.refused(logIn))
        }
    }

    @Test func withSignUpClosedTheFormIsGoneAndTheRouteRefused() async throws {
        try await WebHarness.run(web: { $0.signUp = .closed }) { web in
            let logIn = try await web.request(.get, "/login")
            #expect(!logIn.text.contains("href=\"/signup\""))
            let page = try await web.request(.get, "/signup")
            #expect(page.status == .forbidden && page.text.contains("Sign-up is closed"))
            #expect(page.inputValue("name") == nil)
            let (cookies, csrf) = try await web.visitor()
            let posted = try await web.request(.post, "/signup", cookies: cookies, form: [
                ("_csrf", csrf), ("email", AuthFormTests.newEmail()), ("password", LiveBackend.password),
            ])
            #expect(posted.status == .forbidden && posted.cookie(Session.cookieName) == nil)
        }
    }

    @Test func withSignUpByInvitationOnlyTheLinksFormSignsUpAndOnce() async throws {
        try await WebHarness.run(backend: { $0.signUp = .invite }, web: { $0.signUp = .invite }) { web in
            #expect(try await !web.request(.get, "/login").text.contains("href=\"/signup\""))
            let bare = try await web.request(.get, "/signup")
            #expect(bare.status == .forbidden && bare.text.contains("by invitation") && bare.inputValue("password") == nil)

            let email = AuthFormTests.newEmail()
            let (token, _) = try await Invitations.issue(email: email, invitedBy: nil, in: web.api.storage.accounts)
            let page = try await web.request(.get, "/signup?invite=\(token)")
            #expect(page.status == .ok && page.inputValue("invitation") == token)
            let (cookies, csrf) = try await web.visitor()
            let form = [("_csrf", csrf), ("email", email), ("password", LiveBackend.password), ("invitation", token)]
            let signedUp = try await web.request(.post, "/signup", cookies: cookies, form: form)
            #expect(signedUp.location == "/" && signedUp.cookie(Session.cookieName) != nil)
            let again = try await web.request(.post, "/signup", cookies: cookies, form: form)
            #expect(again.status == .badRequest && again.text.contains("invitation link does not work"))
            #expect(again.inputValue("invitation") == token)
        }
    }
}
