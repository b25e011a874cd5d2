import Logging
import ServiceLifecycle

/// One database, seen as a store per aggregate. Each protocol has one implementation per
/// database, and both pass the same conformance suite; routes never see SQL. A new aggregate is
/// a new protocol here and a new file per database.
public struct Storage: Sendable {
    public var schema: any SchemaStore
    public var accounts: any AccountStore
    public var tasks: any TaskStore
    public var projects: any ProjectStore
    public var events: any EventStore
    public var conversations: any ConversationStore
    public var attempts: any AttemptStore
    public var sessions: any SessionStore
    public var passwordResets: any PasswordResetStore
    public var webhooks: any WebhookStore
    public var calendarObjects: any CalendarObjectStore
    public var push: any PushStore
    public var mail: any MailStore

    public init(
        schema: any SchemaStore, accounts: any AccountStore, tasks: any TaskStore, events: any EventStore,
        conversations: any ConversationStore, attempts: any AttemptStore, sessions: any SessionStore,
        passwordResets: any PasswordResetStore, webhooks: any WebhookStore, calendarObjects: any CalendarObjectStore,
        push: any PushStore, mail: any MailStore, projects: any ProjectStore
    ) {
        self.schema = schema
        self.accounts = accounts
        self.tasks = tasks
        self.projects = projects
        self.events = events
        self.conversations = conversations
        self.attempts = attempts
        self.sessions = sessions
        self.passwordResets = passwordResets
        self.webhooks = webhooks
        self.calendarObjects = calendarObjects
        self.push = push
        self.mail = mail
    }
}

/// An opened database: its stores, the service (if any) that must run for them to work, and
/// how to close it.
public struct OpenedStorage: Sendable {
    public var storage: Storage
    public var service: (any Service)?
    public var close: @Sendable () async -> Void
}
