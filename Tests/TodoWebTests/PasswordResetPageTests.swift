import Foundation
import Testing
import TodoAPI
import TodoMail
@testable import TodoWeb

/// Keeps the mails the backend sends, for a test to wait for.
final class RecordingMailer: Mailer {
    let messages: AsyncStream<MailMessage>
    private let continuation: AsyncStream<MailMessage>.Continuation

    init() {
        (messages, continuation) = AsyncStream.makeStream()
    }

    func send(_ message: MailMessage) async throws {
        continuation.yield(message)
    }

    /// The token of the next mail's link.
    func nextToken() async throws -> String {
        var mails = messages.makeAsyncIterator()
        let mail = try #require(await mails.next())
        let link = try #require(mail.body.split(whereSeparator: \.isWhitespace).first { $0.contains("/reset?token=") })
        return String(link.split(separator: "=", maxSplits: 1)[1])
    }
}

/// "Forgot your password?" and the reset link's page, through the forms.
@Suite struct PasswordResetPageTests {
    @Test func withoutMailTheForgotPageSaysToAskTheOperator() async throws {
        try await WebHarness.run { web in
            let (cookies, csrf) = try await web.visitor("/forgot")
            let reply = try await web.request(.post, "/forgot", cookies: cookies, form: [("_csrf", csrf), ("email", "ann@example.com")])
            #expect(reply.status == .ok)
            #expect(reply.text.contains("Ask the operator"))
        }
    }

    @Test func theFormsNeedTheCSRFToken() async throws {
        try await WebHarness.run { web in
            let (cookies, _) = try await web.visitor("/forgot")
            #expect(try await web.request(.post, "/forgot", cookies: cookies, form: [("email", "ann@example.com")]).status == .forbidden)
            #expect(try await web.request(.post, "/reset", cookies: cookies, form: [("token", "x"), ("password", "long enough")]).status == .forbidden)
        }
    }

    @Test func theMailedLinkSetsThePasswordOnceAndEndsTheSession() async throws {
        let mailer = RecordingMailer()
        try await WebHarness.run(backend: { $0.mailer = mailer; $0.publicWebURL = "https://todo.example" }) { web in
            let account = try await web.signedIn()
            let sent = try await web.request(.post, "/forgot", cookies: account.cookies, form: [("_csrf", account.csrf), ("email", account.email)])
            #expect(sent.text.contains("Check your mail"))
            let token = try await mailer.nextToken()

            let page = try await web.request(.get, "/reset?token=\(token)", cookies: account.cookies)
            #expect(page.inputValue("token") == token)
            let form = [("_csrf", account.csrf), ("token", token), ("password", "a new password")]
            let reset = try await web.request(.post, "/reset", cookies: account.cookies, form: form)
            #expect(reset.status == .seeOther && reset.location == "/login?reset=done")
            #expect(reset.cookie(Session.cookieName)?.attributes["Max-Age"] == "0")
            #expect(try await web.request(.get, "/", cookies: account.cookies).location?.hasPrefix("/login") == true)
            #expect(try await web.request(.get, "/login?reset=done").text.contains("Your password has been changed"))
            _ = try await web.api.client.logIn(email: account.email, password: "a new password")

            let again = try await web.request(.post, "/reset", cookies: account.cookies, form: form)
            #expect(again.status == .badRequest && again.text.contains("This link does not work any more"))
        }
    }

    @Test func aShortPasswordIsShownOnTheFormAndTheLinkStillWorks() async throws {
        let mailer = RecordingMailer()
        try await WebHarness.run(backend: { $0.mailer = mailer; $0.publicWebURL = "https://todo.example" }) { web in
            let account = try await web.signedIn()
            _ = try await web.request(.post, "/forgot", cookies: account.cookies, form: [("_csrf", account.csrf), ("email", account.email)])
            let token = try await mailer.nextToken()
            let short = try await web.request(.post, "/reset", cookies: account.cookies,
                                              form: [("_csrf", account.csrf), ("token", token), ("password", "short")])
            #expect(short.status == .unprocessableContent && short.inputValue("token") == token)
            let done = try await web.request(.post, "/reset", cookies: account.cookies,
                                             form: [("_csrf", account.csrf), ("token", token), ("password", "long enough now")])
            #expect(done.location == "/login?reset=done")
        }
    }

    @Test func aLinkWithoutATokenSaysItDoesNotWork() async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, "/reset")
            #expect(reply.status == .badRequest && reply.text.contains("Ask for a new link"))
        }
    }
}
