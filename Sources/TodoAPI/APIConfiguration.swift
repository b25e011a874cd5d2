import TodoCore
import TodoMail
import TodoServer

/// Settings of the backend. The `todo` executable fills them from the environment.
public struct APIConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    public var authSecret: String
    public var tokenLifetime: Duration = .seconds(86_400)
    public var maxBodySize = 1 << 20
    /// Imports carry whole task lists, so their body limit is separate.
    public var maxImportSize = 16 << 20
    public var passwordHashCost: UInt8 = 12
    /// Failed log-ins per account in 15 minutes before 429 (five times as many per client address).
    public var loginAttemptLimit = 10
    /// Sign-ups per client address an hour, and from all addresses together a minute.
    public var signUpAddressLimit = 10
    public var signUpLimit = 60
    /// Tasks per user: a create, an import or a completed recurring task's next occurrence that
    /// would pass it is refused with 409 `quota_exceeded`.
    public var tasksPerUserLimit = 100_000
    public var accessLog = true
    /// Who may create an account (`SIGNUP`).
    public var signUp = SignUpPolicy.open
    /// Whether the database's first account becomes an admin (`todo serve`: whoever sets it up).
    public var firstAccountIsAdmin = false
    /// Single sign-on through an OpenID Connect provider, when set.
    public var openID: OpenIDSettings?
    /// Whether accounts may sign up and log in with a password (`PASSWORD_LOGIN`); off only with `openID`.
    public var passwordLogin = true
    /// Proxies whose `X-Forwarded-For` names the client (for per-address limits).
    public var trustedProxies = TrustedProxies([IPNetwork("127.0.0.1")!, IPNetwork("::1")!])
    /// Where webhooks may point: public addresses, and the ranges `WEBHOOK_ALLOWED_NETWORKS` adds.
    public var webhookAddresses = OutboundAddressPolicy()
    /// The key that signs Web Push messages (`VAPID_PRIVATE_KEY`, `VAPID_SUBJECT`); nil: push is off.
    public var vapidKey: VAPIDKey?
    /// Where push endpoints may point: https on public addresses, and the ranges `PUSH_ALLOWED_NETWORKS` adds.
    public var pushAddresses = OutboundAddressPolicy(httpsOnly: true)
    public var migrateOnStart = true
    /// How often the reminder scheduler looks for due reminders.
    public var reminderInterval: Duration = .seconds(1)
    /// How often live streams look for new events when no database notification arrives.
    public var eventPollInterval: Duration = .milliseconds(250)
    /// A comment line on idle live streams keeps proxies from closing them.
    public var eventHeartbeat: Duration = .seconds(15)
    /// Live-event streams one user may hold open at once, per process.
    public var eventStreamsPerUser = 10
    /// How long events stay available for `Last-Event-ID` resumption.
    public var eventRetention: Duration = .seconds(86_400)
    public var assistant = AssistantConfiguration()
    /// Sends "forgot password" mails (`SMTP_URL`, `MAIL_FROM`); nil: no mail, and passwords are
    /// reset by the operator (`todo user reset-password`). Needs `publicWebURL`.
    public var mailer: (any Mailer)?
    /// The web UI's public address (`PUBLIC_WEB_URL`), where reset links point.
    public var publicWebURL: String?

    public init(authSecret: String) {
        self.authSecret = authSecret
    }
}
