import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// Settings: the account, appearance and notifications (in the browser), personal API tokens,
/// and import/export of all tasks as JSON.
struct SettingsPages: Sendable {
    let client: TodoClient
    let views: Views
    /// `PUBLIC_WEB_URL`, which completes the calendar feed's address when the backend gives a path.
    let publicURL: String?

    struct SettingsPage {
        var chrome: Chrome
        var tokens: [TokenRow]
        var hasTokens: Bool
        var sessions: [SessionRow]
        var newToken: NewToken?
        var notices: [String]
        var errors: [String]
        var hasErrors: Bool
        var expiryOptions: [Option]
        var calendarFeedURL: String
        /// The address CalDAV clients are given: this site's, which passes `/dav/` to the backend.
        var calDAVURL: String
        var webhooks: [WebhookRow]
        var hasWebhooks: Bool
        var newWebhook: NewWebhook?
        var webhookEvents: [Option]
        var mail: MailSection
    }

    /// The E-mail section: reminders and the daily digest, as the backend has them.
    struct MailSection {
        var enabled: Bool
        var emailReminders: Bool
        var dailyDigest: Bool
        var digestTime: String
        var timeZone: String
        /// Never chosen (still the default UTC): the page fills in the browser's zone.
        var detectZone: Bool

        init(_ settings: NotificationSettings, enabled: Bool) {
            self.enabled = enabled
            emailReminders = settings.emailReminders
            dailyDigest = settings.dailyDigest
            digestTime = settings.digestTime.description
            timeZone = settings.timeZone
            detectZone = settings.timeZone == NotificationSettings().timeZone
        }
    }

    struct WebhookRow {
        var id: String
        var url: String
        var events: String
        var created: String
        var deliveries: [DeliveryRow]
        var hasDeliveries: Bool
    }

    struct DeliveryRow {
        var type: String
        var attempts: Int
        var status: String
        var delivered: String
        var failed: Bool
    }

    struct NewWebhook {
        var url: String
        var secret: String
    }

    struct TokenRow {
        var id: String
        var name: String
        var created: String
        var expires: String
        var lastUsed: String
    }

    struct SessionRow {
        var id: String
        var device: String
        var created: String
        var lastUsed: String
        var current: Bool
    }

    struct NewToken {
        var name: String
        var token: String
    }

    static let webhookEventChoices = [("task.created", "Task created"), ("task.updated", "Task changed"), ("task.completed", "Task completed"),
                                      ("task.deleted", "Task deleted"), ("reminder.due", "Reminder due")]
    /// The deliveries shown per webhook: the latest few say whether the receiver is healthy.
    static let deliveriesShown = 5

    static let expiryChoices = [("", "Never expires"), ("30", "Expires in 30 days"), ("90", "Expires in 90 days"), ("365", "Expires in a year")]

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("settings", use: show)
        router.post("settings/tokens", use: createToken)
        router.post("settings/tokens/:token_id/delete", use: revokeToken)
        router.post("settings/calendar-feed/revoke", use: revokeCalendarFeed)
        router.post("settings/webhooks", use: createWebhook)
        router.post("settings/webhooks/:webhook_id/delete", use: deleteWebhook)
        router.post("settings/email", use: saveMailSettings)
        router.post("settings/sessions/:session_id/delete", use: endSession)
        router.post("settings/sessions/sign-out-everywhere", use: signOutEverywhere)
        router.post("settings/password", use: changePassword)
        router.post("settings/delete-account", use: deleteAccount)
        router.get("settings/export", use: export)
        router.post("settings/import", use: importTasks)
        router.post("settings/import/todoist", use: importTodoist)
    }

    @Sendable func show(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await page(context, token: try context.requireSession())
    }

    @Sendable func createToken(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let name = context.form.text("name") ?? ""
        var expiresAt: Timestamp?
        if let days = context.form.text("expires_in_days").flatMap(Int.init), (1...3650).contains(days) {
            expiresAt = Timestamp.now().adding(milliseconds: Int64(days) * 86_400_000)
        }
        return try await creating(context, token: token) {
            let created = try await client.createToken(token: token, name: name, expiresAt: expiresAt)
            // Shown once, right here: it is not stored anywhere it could be read again.
            return try await page(context, token: token, newToken: NewToken(name: created.name, token: created.token), status: .created)
        }
    }

    /// Runs a form that creates something; a refusal shows the page again with what was wrong:
    /// 422 for invalid input, 409 for a full quota (of tokens, of webhooks).
    private func creating(_ context: WebRequestContext, token: String, _ create: () async throws -> Response) async throws -> Response {
        do {
            return try await create()
        } catch TodoClientError.validation(let issues, let message) {
            return try await page(context, token: token, errors: PageSupport.messages(issues, message: message), status: .unprocessableContent)
        } catch TodoClientError.conflict(let problem) {
            return try await page(context, token: token, errors: [problem.message], status: .conflict)
        }
    }

    @Sendable func revokeToken(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await remove("token_id", context, then: "/settings#tokens") { try await client.revokeToken(token: $0, id: $1) }
    }

    /// A new address for the calendar feed; the old one stops working at once.
    @Sendable func revokeCalendarFeed(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        try await client.revokeCalendarFeed(token: token)
        return try await page(context, token: token, notices: ["The calendar feed has a new address: subscribe to it again. The old one no longer works."])
    }

    @Sendable func createWebhook(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let url = context.form.text("url") ?? ""
        let events = Self.webhookEventChoices.map(\.0).filter { context.form[$0] == "on" }
        return try await creating(context, token: token) {
            let created = try await client.createWebhook(token: token, url: url, events: events)
            // The secret is shown once, right here, as a token is.
            return try await page(context, token: token, newWebhook: NewWebhook(url: url, secret: created.secret), status: .created)
        }
    }

    @Sendable func deleteWebhook(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await remove("webhook_id", context, then: "/settings#webhooks") { try await client.deleteWebhook(token: $0, id: $1) }
    }

    /// Saves the E-mail section. A time zone the form leaves empty or this system does not know
    /// keeps the saved one (a browser without `Intl` sends none).
    @Sendable func saveMailSettings(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let form = context.form
        let zone = form.text("time_zone").flatMap { NotificationSettings.isKnownZone($0) ? $0 : nil }
        do {
            _ = try await client.updateNotificationSettings(
                token: token, emailReminders: form["email_reminders"] == "on", dailyDigest: form["daily_digest"] == "on",
                digestTime: form.text("digest_time"), timeZone: zone)
            return try await page(context, token: token, notices: ["E-mail settings saved."])
        } catch TodoClientError.validation(let issues, let message) {
            return try await page(context, token: token, errors: PageSupport.messages(issues, message: message), status: .unprocessableContent)
        } catch TodoClientError.conflict(let problem) {
            return try await page(context, token: token, errors: [problem.message], status: .conflict)
        }
    }

    @Sendable func endSession(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await remove("session_id", context, then: "/settings#sessions") { try await client.endSession(token: $0, id: $1) }
    }

    /// Removes the listed item the path names, then back to its list; one already gone is fine.
    private func remove(
        _ parameter: String, _ context: WebRequestContext, then list: String, _ delete: (String, String) async throws -> Void
    ) async throws -> Response {
        let token = try context.requireSession()
        guard let id = context.parameters.get(parameter) else { throw WebError.notFound }
        do {
            try await delete(token, id)
        } catch TodoClientError.notFound {
            // Already gone.
        }
        return .redirect(to: list)
    }

    /// Ends every session of the account, this browser's too.
    @Sendable func signOutEverywhere(_ request: Request, context: WebRequestContext) async throws -> Response {
        try await client.logOutEverywhere(token: try context.requireSession())
        return AuthPages.signedOut(context)
    }

    @Sendable func changePassword(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let form = context.form
        guard form["new_password"] == form["confirm_password"] else {
            return try await page(context, token: token, errors: ["The new password and its confirmation differ."], status: .unprocessableContent)
        }
        do {
            try await client.changePassword(token: token, current: form["current_password"] ?? "", new: form["new_password"] ?? "",
                                            revokeTokens: form["revoke_api_tokens"] == "on")
            return try await page(context, token: token, notices: ["Password changed. Every other session has been signed out."])
        } catch TodoClientError.forbidden(let problem) where problem.code == "wrong_password" {
            return try await page(context, token: token, errors: ["The current password is wrong."], status: .forbidden)
        } catch TodoClientError.validation(let issues, let message) {
            return try await page(context, token: token, errors: PageSupport.messages(issues, message: message), status: .unprocessableContent)
        } catch TodoClientError.rateLimited {
            return try await page(context, token: token, errors: ["Too many wrong passwords. Wait a few minutes, then try again."],
                                  status: .tooManyRequests)
        }
    }

    /// Deletes the account for good (the page offers the export first) and signs out.
    @Sendable func deleteAccount(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        do {
            try await client.deleteAccount(token: token, password: context.form["password"] ?? "")
            return AuthPages.signedOut(context)
        } catch TodoClientError.forbidden(let problem) where problem.code == "wrong_password" {
            return try await page(context, token: token, errors: ["The password is wrong: the account was not deleted."], status: .forbidden)
        } catch TodoClientError.rateLimited {
            return try await page(context, token: token, errors: ["Too many wrong passwords. Wait a few minutes, then try again."],
                                  status: .tooManyRequests)
        }
    }

    /// The backend's export streamed through: a large export never sits in this server's memory.
    @Sendable func export(_ request: Request, context: WebRequestContext) async throws -> Response {
        let document = try await client.exportTasks(token: try context.requireSession())
        let date = String(Timestamp.now().rfc3339.prefix(10))
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"todo-export-\(date).json\"",
            ],
            body: ResponseBody { writer in
                for try await chunk in document { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }

    @Sendable func importTasks(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        guard let file = context.form.file("file"), !file.data.isEmpty else {
            return try await page(context, token: token, errors: ["Choose an export file (JSON) to import."], status: .badRequest)
        }
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: file.data) else {
            return try await page(context, token: token, errors: ["“\(file.filename)” is not a JSON file."], status: .badRequest)
        }
        return try await importing(file.filename, context: context, token: token) {
            let count = try await client.importTasks(token: token, document: document)
            return ["Imported \(count) \(count == 1 ? "task" : "tasks") from “\(file.filename)”."]
        }
    }

    /// The settings page after an import: `run`'s notices, or why the API refused the file (a bad
    /// file, or the task quota: nothing was imported either way).
    private func importing(_ filename: String, context: WebRequestContext, token: String,
                           _ run: () async throws -> [String]) async throws -> Response {
        do {
            return try await page(context, token: token, notices: try await run())
        } catch TodoClientError.validation(let issues, let message) {
            return try await page(context, token: token, errors: ["“\(filename)” could not be imported:"] + PageSupport.messages(issues, message: message),
                                  status: .unprocessableContent)
        } catch TodoClientError.conflict(let problem) {
            return try await page(context, token: token, errors: ["“\(filename)” could not be imported: \(problem.message)."], status: .conflict)
        }
    }

    /// A Todoist project's CSV export into a new project named after the file, its dates read in
    /// the browser's time zone; what did not map is said on the page.
    @Sendable func importTodoist(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        guard let file = context.form.file("file"), !file.data.isEmpty else {
            return try await page(context, token: token, errors: ["Choose a Todoist export (CSV) to import."], status: .badRequest)
        }
        let name = (file.filename as NSString).deletingPathExtension
        return try await importing(file.filename, context: context, token: token) {
            let made = try await client.importTodoist(token: token, csv: file.data, name: name.isEmpty ? "Todoist" : name,
                                                      timeZone: context.timeZone.identifier)
            let count = "\(made.imported) \(made.imported == 1 ? "task" : "tasks")"
            return ["Imported \(count) into the new project “\(made.project.name)”."] + made.notMapped
        }
    }

    func page(_ context: WebRequestContext, token: String, newToken: NewToken? = nil, newWebhook: NewWebhook? = nil, notices: [String] = [],
              errors: [String] = [], status: HTTPResponse.Status = .ok) async throws -> Response {
        async let user = client.me(token: token)
        async let sessions = client.listSessions(token: token)
        async let feedURL = client.calendarFeedURL(token: token)
        async let webhooks = webhookRows(token: token, context: context)
        async let mail = client.notificationSettings(token: token)
        let tokens = try await client.listTokens(token: token)
        let now = Timestamp.now()
        let clock = LocalClock(calendar: PageSupport.calendar(context.timeZone))
        let rows = tokens.map { item in
            TokenRow(
                id: item.id, name: item.name, created: clock.shortDate(item.createdAt, relativeTo: now),
                expires: item.expiresAt.map { clock.shortDate($0, relativeTo: now) } ?? "Never",
                lastUsed: item.lastUsedAt.map { clock.shortDate($0, relativeTo: now) } ?? "Never")
        }
        let sessionRows = try await sessions.map { item in
            SessionRow(id: item.id, device: DeviceName.of(userAgent: item.userAgent), created: clock.shortDate(item.createdAt, relativeTo: now),
                       lastUsed: clock.shortDate(item.lastUsedAt, relativeTo: now), current: item.current)
        }
        let model = SettingsPage(
            chrome: views.chrome(context, title: "Settings", user: try await user, section: "settings"),
            tokens: rows, hasTokens: !rows.isEmpty, sessions: sessionRows, newToken: newToken, notices: notices, errors: errors, hasErrors: !errors.isEmpty,
            expiryOptions: Self.expiryChoices.map { Option(value: $0.0, label: $0.1, selected: $0.0 == "") },
            calendarFeedURL: PageSupport.absolute(try await feedURL, publicURL: publicURL, context),
            calDAVURL: PageSupport.siteURL(publicURL: publicURL, context) + "/dav/",
            webhooks: try await webhooks, hasWebhooks: !(try await webhooks).isEmpty, newWebhook: newWebhook,
            webhookEvents: Self.webhookEventChoices.map { Option(value: $0.0, label: $0.1, selected: true) },
            mail: MailSection(try await mail.settings, enabled: try await mail.mailEnabled))
        return views.page("settings", model, status: status)
    }

    /// Each webhook with its latest deliveries, read side by side.
    private func webhookRows(token: String, context: WebRequestContext) async throws -> [WebhookRow] {
        let webhooks = try await client.listWebhooks(token: token)
        let now = Timestamp.now()
        let clock = LocalClock(calendar: PageSupport.calendar(context.timeZone))
        let labels = Dictionary(uniqueKeysWithValues: Self.webhookEventChoices)
        return try await withThrowingTaskGroup(of: (Int, [TodoClient.WebhookDeliverySummary]).self) { group in
            for (index, webhook) in webhooks.enumerated() {
                group.addTask { (index, try await client.webhookDeliveries(token: token, id: webhook.id)) }
            }
            var deliveries = [[TodoClient.WebhookDeliverySummary]](repeating: [], count: webhooks.count)
            for try await (index, items) in group { deliveries[index] = Array(items.prefix(Self.deliveriesShown)) }
            return zip(webhooks, deliveries).map { webhook, items in
                let rows = items.map { item in
                    DeliveryRow(type: labels[item.type] ?? item.type, attempts: item.attempt, status: item.status.map(String.init) ?? "No answer",
                                delivered: item.deliveredAt.map { clock.shortDate($0, relativeTo: now) } ?? (item.attempt == 0 ? "Pending" : "Retrying"),
                                failed: item.deliveredAt == nil && item.attempt > 0)
                }
                return WebhookRow(id: webhook.id, url: webhook.url, events: webhook.events.map { labels[$0] ?? $0 }.joined(separator: ", "),
                                  created: clock.shortDate(webhook.createdAt, relativeTo: now), deliveries: rows, hasDeliveries: !rows.isEmpty)
            }
        }
    }
}

/// A short name for the client behind a user agent ("Firefox on Windows"), for the sessions list.
enum DeviceName {
    static let browsers = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
                           ("python-requests/", "Python script"), ("AsyncHTTPClient", "Script")]
    static let systems = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
                          ("CrOS", "ChromeOS"), ("Linux", "Linux")]

    static func of(userAgent: String?) -> String {
        guard let userAgent, !userAgent.isEmpty else { return "Unknown device" }
        let browser = browsers.first { userAgent.contains($0.0) }?.1
        let system = systems.first { userAgent.contains($0.0) }?.1
        switch (browser, system) {
        case let (browser?, system?): return "\(browser) on \(system)"
        case let (browser?, nil): return browser
        case let (nil, system?): return system
        case (nil, nil): return String(userAgent.prefix(40))
        }
    }
}
