import Foundation
import HTTPTypes
import Testing
import TodoTestSupport
import TodoAPI
import TodoClient
import TodoCore
import TodoMail
@testable import TodoWeb

/// The settings page (personal tokens, export, import as a file upload) and the assistant page.
@Suite struct SettingsAndChatPageTests {
    @Test func aNewTokensSecretIsShownOnceAndRevokingItRemovesIt() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let created = try await web.request(.post, "/settings/tokens", cookies: account.cookies,
                                                form: [("_csrf", account.csrf), ("name", "Laptop CLI"), ("expires_in_days", "30")])
            #expect(created.status == .created)
            let secret = try #require(created.firstMatch(#"id="new-token-value" type="text" readonly value="([^"]+)""#))
            #expect(try await web.api.client.me(token: secret).email == account.email)
            let token = try #require(try await web.api.client.listTokens(token: account.token).first)
            #expect(token.name == "Laptop CLI")
            #expect(token.expiresAt != nil)

            let later = try await web.request(.get, "/settings", cookies: account.cookies)
            #expect(later.text.contains("Laptop CLI"))
            #expect(!later.text.contains(secret))
            #expect(later.text.contains(#"action="/settings/tokens/\#(token.id)/delete""#))

            for _ in 0..<2 {
                let revoked = try await web.request(.post, "/settings/tokens/\(token.id)/delete", cookies: account.cookies,
                                                    form: [("_csrf", account.csrf)])
                #expect(revoked.status == .seeOther)
                #expect(revoked.location == "/settings#tokens")
            }
            #expect(try await web.api.client.listTokens(token: account.token).isEmpty)
        }
    }

    /// The page offers push and the service worker shows it; the browser's subscription goes through the
    /// proxy with the page's CSRF token, as app.js sends it.
    @Test func settingsOffersPushWithItsWorkerAndTheSubscriptionReachesTheBackend() async throws {
        let key = try VAPIDKey(VAPIDKey.newPrivateKey(), subject: "mailto:ops@example.com")
        try await WebHarness.run(backend: { $0.vapidKey = key }) { web in
            let account = try await web.signedIn()
            let page = try await web.request(.get, "/settings", cookies: account.cookies)
            #expect(page.text.contains(#"id="push-toggle""#))
            // The one service worker, registered on every page, is the one that shows the pushes.
            let worker = try await web.request(.get, "/sw.js")
            #expect(worker.text.contains(#"addEventListener("push""#) && worker.text.contains("showNotification"))

            let published = try await web.request(.get, "/api/push/vapid-public-key", cookies: account.cookies)
            #expect(published.text.contains(key.publicKey))
            // Any P-256 point will do as the browser's key: the server's own public key is one.
            let body = #"{"endpoint": "https://198.51.100.7/device", "keys": {"p256dh": "\#(key.publicKey)", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}"#
            let subscribed = try await web.request(.post, "/api/me/push-subscriptions", cookies: account.cookies,
                                                   headers: [.xCSRFToken: account.csrf, .contentType: "application/json"], body: body)
            #expect(subscribed.status == .created, "\(subscribed.text)")
        }
    }

    @Test func aTokenWithoutANameIsRefusedWith422SayingSo() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.post, "/settings/tokens", cookies: account.cookies, form: [("_csrf", account.csrf), ("name", " ")])
            #expect(reply.status == .unprocessableContent)
            #expect(reply.text.contains("Name must be 1 to"))
        }
    }

    @Test func the51stTokenIsRefusedOnThePageSayingWhy() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            for index in 0..<50 { _ = try await web.api.client.createToken(token: account.token, name: "script \(index)") }
            let reply = try await web.request(.post, "/settings/tokens", cookies: account.cookies, form: [("_csrf", account.csrf), ("name", "one more")])
            #expect(reply.status == .conflict)
            #expect(reply.text.contains("an account holds at most 50 personal tokens; revoke one first"))
            #expect(reply.text.contains(#"action="/settings/tokens""#), "the settings page itself, not an error page")
        }
    }

    @Test func anImportPastTheTaskQuotaIsRefusedOnThePageSayingWhy() async throws {
        try await WebHarness.run(backend: { $0.tasksPerUserLimit = 2 }) { web in
            let account = try await web.signedIn()
            let document = #"{"format": "todo-export", "version": 1, "tasks": [{"title": "a"}, {"title": "b"}, {"title": "c"}]}"#
            let reply = try await Self.upload(web, account, filename: "big.json", content: document)
            #expect(reply.status == .conflict)
            #expect(reply.text.contains("“big.json” could not be imported: an account holds at most 2 tasks; delete some first."))
            #expect(try await web.api.client.listTasks(token: account.token).items.isEmpty)
        }
    }

    @Test func theExportIsADownloadOfEveryTaskNamedWithTodaysDate() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            for title in ["One", "Two"] { _ = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: title)) }
            let reply = try await web.request(.get, "/settings/export", cookies: account.cookies)
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "application/json")
            let today = String(Timestamp.now().rfc3339.prefix(10))
            #expect(reply.headers[.contentDisposition] == "attachment; filename=\"todo-export-\(today).json\"")
            #expect(reply.json["format"] as? String == "todo-export")
            #expect(Set((reply.json["tasks"] as? [[String: Any]])?.compactMap { $0["title"] as? String } ?? []) == ["One", "Two"])
        }
    }

    static func upload(_ web: WebHarness, _ account: Visitor, filename: String?, content: String) async throws -> Reply {
        let boundary = "----todo-test-\(UUID().uuidString)"
        var parts = ["--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(account.csrf)\r\n"]
        if let filename {
            parts.append("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n"
                + "Content-Type: application/json\r\n\r\n\(content)\r\n")
        }
        return try await web.request(.post, "/settings/import", cookies: account.cookies,
                                     headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
                                     body: parts.joined() + "--\(boundary)--\r\n")
    }

    @Test func anUploadedExportIsImportedAndTheCountIsShown() async throws {
        try await WebHarness.run { web in
            let source = try await web.signedIn()
            for title in ["Carried over", "Also carried"] {
                _ = try await web.api.client.createTask(token: source.token, fields: TaskFields(title: title, tags: ["moved"]))
            }
            let export = try await web.request(.get, "/settings/export", cookies: source.cookies)
            let target = try await web.signedIn()
            let reply = try await Self.upload(web, target, filename: "tasks.json", content: export.text)
            #expect(reply.status == .ok)
            #expect(reply.text.contains("Imported 2 tasks from “tasks.json”."))
            let imported = try await web.api.client.listTasks(token: target.token).items
            #expect(Set(imported.map(\.fields.title)) == ["Carried over", "Also carried"])
            #expect(imported.allSatisfy { $0.fields.tags == ["moved"] })
        }
    }

    @Test func anUploadThatIsMissingNotJSONOrNotAnExportIsRefusedSayingWhy() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let missing = try await Self.upload(web, account, filename: nil, content: "")
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains("Choose an export file (JSON) to import."))
            let notJSON = try await Self.upload(web, account, filename: "notes.txt", content: "buy milk")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.text.contains("“notes.txt” is not a JSON file."))
            let notAnExport = try await Self.upload(web, account, filename: "other.json", content: #"{"tasks": [{"title": 1}]}"#)
            #expect(notAnExport.status == .unprocessableContent)
            #expect(notAnExport.text.contains("“other.json” could not be imported:"))
            #expect(try await web.api.client.listTasks(token: account.token).items.isEmpty)
        }
    }

    @Test func theAssistantPageShowsTheAnswerAndCarriesTheConversationOn() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let first = try await web.request(.post, "/chat", cookies: account.cookies, form: [("_csrf", account.csrf), ("message", "help")])
            #expect(first.status == .ok)
            #expect(first.text.contains(#"<span class="who">You</span><p>help</p>"#))
            #expect(first.text.contains("offline assistant"))
            let conversation = try #require(first.inputValue("conversation_id"))
            #expect(!conversation.isEmpty)
            let second = try await web.request(.post, "/chat", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("message", "hi"), ("conversation_id", conversation),
            ])
            #expect(second.inputValue("conversation_id") == conversation)
        }
    }

    @Test func theAssistantPageSaysWhenTheChatLimitIsReachedAndKeepsTheConversation() async throws {
        try await Self.secondMessage(backend: { $0.assistant.rateLimit = 1 }) { conversation, second in
            #expect(second.status == .ok)
            #expect(second.text.contains("That is more messages than the assistant takes in a minute. Wait "))
            #expect(second.inputValue("conversation_id") == conversation)
        }
    }

    @Test func theAssistantPageSaysWhenAConversationIsFull() async throws {
        try await Self.secondMessage(backend: { $0.assistant.messageLimit = 1 }) { _, second in
            #expect(second.status == .ok)
            #expect(second.text.contains("The assistant cannot take this message: this conversation holds 1 of your messages"))
        }
    }

    /// A first message on the assistant page, then a second in its conversation; `check` gets the
    /// conversation id and the second page.
    static func secondMessage(
        backend: (inout APIConfiguration) -> Void, _ check: @escaping @Sendable (String, Reply) throws -> Void
    ) async throws {
        try await WebHarness.run(backend: backend) { web in
            let account = try await web.signedIn()
            let first = try await web.request(.post, "/chat", cookies: account.cookies, form: [("_csrf", account.csrf), ("message", "help")])
            let conversation = try #require(first.inputValue("conversation_id"))
            let second = try await web.request(.post, "/chat", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("message", "hi"), ("conversation_id", conversation),
            ])
            try check(conversation, second)
        }
    }
}

/// A mailer that keeps what it is given: the backend of these pages sends no real mail.
struct KeptMail: TodoMail.Mailer {
    func send(_ message: TodoMail.MailMessage) async throws {}
}

/// The E-mail section of Settings: saved through the backend API, and saying so when the server
/// sends no mail.
@Suite struct EmailSettingsPageTests {
    @Test func theEmailSectionSavesRemindersAndTheDigestThroughTheBackend() async throws {
        try await WebHarness.run(backend: { $0.mailer = KeptMail() }) { web in
            let account = try await web.signedIn()
            let page = try await web.request(.get, "/settings", cookies: account.cookies)
            #expect(page.text.contains(#"action="/settings/email""#) && !page.text.contains("Mail is off on this server"))
            #expect(page.text.contains(#"value="UTC" data-timezone"#), "never chosen: the browser's zone is filled in")

            let saved = try await web.request(.post, "/settings/email", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("email_reminders", "on"), ("daily_digest", "on"), ("digest_time", "18:30"), ("time_zone", "Europe/Paris"),
            ])
            #expect(saved.status == .ok && saved.text.contains("E-mail settings saved."))
            let stored = try await web.api.client.notificationSettings(token: account.token)
            #expect(stored.mailEnabled)
            #expect(stored.settings == NotificationSettings(emailReminders: true, dailyDigest: true, digestTime: DigestTime("18:30")!, timeZone: "Europe/Paris"))
            #expect(saved.text.contains(#"name="email_reminders" checked"#) && saved.text.contains(#"value="18:30""#))
            #expect(saved.text.contains(#"value="Europe/Paris" placeholder"#), "a chosen zone is kept, not replaced by the browser's")

            // An unknown zone keeps the saved one; a bad time is refused and shown.
            let unknownZone = try await web.request(.post, "/settings/email", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("digest_time", "07:15"), ("time_zone", "Mars/Olympus"),
            ])
            #expect(unknownZone.status == .ok)
            let kept = try await web.api.client.notificationSettings(token: account.token).settings
            #expect(kept.timeZone == "Europe/Paris" && kept.digestTime.description == "07:15" && !kept.emailReminders && !kept.dailyDigest)
            let badTime = try await web.request(.post, "/settings/email", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("daily_digest", "on"), ("digest_time", "25:00"),
            ])
            #expect(badTime.status == .unprocessableContent && badTime.text.contains("HH:MM"))
        }
    }

    @Test func withoutMailTheSectionSaysSoAndTurningItOnIsRefused() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let page = try await web.request(.get, "/settings", cookies: account.cookies)
            #expect(page.text.contains("Mail is off on this server"))
            let refused = try await web.request(.post, "/settings/email", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("email_reminders", "on"), ("digest_time", "07:00"),
            ])
            #expect(refused.status == .conflict && refused.text.contains("mail is off on this server"))
            #expect(try await web.api.client.notificationSettings(token: account.token).mailEnabled == false)
        }
    }
}
