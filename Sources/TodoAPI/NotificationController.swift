import Hummingbird
import TodoCore
import TodoStore

/// `GET` and `PATCH /api/{user_id}/notification-settings`: e-mail reminders and the daily digest.
/// Without a mailer (`SMTP_URL` unset) both read as off and turning either on answers 409
/// `mail_disabled`; `mail_enabled: false` in the answers tells a client so before it tries.
struct NotificationController<Context: AppRequestContext>: Sendable {
    let mail: any MailStore
    let mailEnabled: Bool
    let body: JSONBody

    struct Settings: ResponseEncodable {
        var emailReminders: Bool
        var dailyDigest: Bool
        var digestTime: String
        var timeZone: String
        var mailEnabled: Bool

        enum CodingKeys: String, CodingKey {
            case emailReminders = "email_reminders", dailyDigest = "daily_digest", digestTime = "digest_time", timeZone = "time_zone"
            case mailEnabled = "mail_enabled"
        }

        init(_ settings: NotificationSettings, mailEnabled: Bool) {
            emailReminders = mailEnabled && settings.emailReminders
            dailyDigest = mailEnabled && settings.dailyDigest
            digestTime = settings.digestTime.description
            timeZone = settings.timeZone
            self.mailEnabled = mailEnabled
        }
    }

    func addRoutes(to user: RouterGroup<Context>) {
        user.get("notification-settings", use: show)
        user.patch("notification-settings", use: update)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Settings {
        Settings(try await mail.notificationSettings(userID: try context.requireUser()), mailEnabled: mailEnabled)
    }

    /// Changes the fields given; the others stay. `mail_enabled` is the server's to say: accepted
    /// and ignored, so that a client may send back what it read.
    @Sendable func update(_ request: Request, context: Context) async throws -> Settings {
        let userID = try context.requireUser()
        let fields = try Fields(
            try await body.require(request).object(), allowed: ["email_reminders", "daily_digest", "digest_time", "time_zone", "mail_enabled"])
        var settings = try await mail.notificationSettings(userID: userID)
        var issues: [FieldIssue] = []
        let reminders = try fields.optionalBool("email_reminders")
        let digest = try fields.optionalBool("daily_digest")
        if let text = try fields.optionalString("digest_time") {
            if let time = DigestTime(text) { settings.digestTime = time } else { issues.append(FieldIssue(field: "digest_time", message: "must be HH:MM, such as 07:00")) }
        }
        if let zone = try fields.optionalString("time_zone") {
            if NotificationSettings.isKnownZone(zone) { settings.timeZone = zone } else {
                issues.append(FieldIssue(field: "time_zone", message: "must be an IANA time zone such as Europe/Paris"))
            }
        }
        guard issues.isEmpty else { throw ValidationError(issues) }
        if !mailEnabled {
            guard reminders != true && digest != true else {
                throw APIError(.conflict, code: "mail_disabled", message: "mail is off on this server: the operator has not set SMTP_URL")
            }
            settings.emailReminders = false
            settings.dailyDigest = false
        }
        settings.emailReminders = reminders ?? settings.emailReminders
        settings.dailyDigest = digest ?? settings.dailyDigest
        guard try await mail.saveNotificationSettings(settings, userID: userID, at: .now()) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return Settings(settings, mailEnabled: mailEnabled)
    }
}
