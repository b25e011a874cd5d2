import AsyncHTTPClient
import Hummingbird
import HummingbirdCore
import TodoAssistant
import Logging
import ServiceLifecycle
import TodoServer
import TodoStore

public typealias APIApplication = Application<RouterResponder<APIRequestContext>>

/// Builds the backend: routes, middleware and the services it runs. `main` and the tests
/// both call this; one place shows how the backend is put together.
public func buildApplication(
    _ configuration: APIConfiguration,
    storage: Storage,
    readiness: Readiness,
    services: [any Service] = [],
    server: HTTPServerBuilder = .http1(),
    logger: Logger
) async -> APIApplication {
    let hub = EventHub(events: storage.events, tasks: storage.tasks, projects: storage.projects)
    let assistantHTTP = AssistantHTTPClient.make()
    let providerHTTP = configuration.openID.map { _ in HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup) }
    let provider = configuration.openID.flatMap { settings in providerHTTP.map { OpenIDProvider(settings: settings, http: $0) } }
    let router = buildRouter(
        configuration, storage: storage, readiness: readiness, hub: hub, assistantHTTP: assistantHTTP, provider: provider, logger: logger,
        tokens: await AccessTokens(secret: configuration.authSecret, lifetime: configuration.tokenLifetime))
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: services,
        logger: logger)
    app.addServices(
        SchemaService(schema: storage.schema, readiness: readiness, migrate: configuration.migrateOnStart, logger: logger),
        ReminderService(events: storage.events, readiness: readiness, interval: configuration.reminderInterval, logger: logger),
        EventFanoutService(hub: hub, events: storage.events, readiness: readiness, pollInterval: configuration.eventPollInterval,
                           retention: configuration.eventRetention, logger: logger),
        Pruning(readiness: readiness, interval: .seconds(600)) {
            try? await storage.attempts.pruneAttempts(before: .now())
            try? await storage.sessions.pruneSessions(before: .now())
            try? await storage.accounts.pruneInvitations(before: .now())
            try? await storage.passwordResets.prunePasswordResets(before: .now())
            try? await storage.calendarObjects.pruneCalendarObjects()
        },
        HTTPClientService(http: assistantHTTP))
    if let providerHTTP { app.addServices(HTTPClientService(http: providerHTTP)) }
    let outboundHTTP = Outbound.httpClient()
    let webhooks = WebhookSender(webhooks: storage.webhooks, tasks: storage.tasks, policy: configuration.webhookAddresses, http: outboundHTTP, logger: logger)
    app.addServices(
        DeliveryService(
            claim: { try await storage.webhooks.claimDeliveries(at: $0, leaseEnd: $1, limit: $2) }, send: webhooks.send,
            prune: { try await storage.webhooks.pruneDeliveries(before: $0) }, readiness: readiness, logger: logger),
        HTTPClientService(http: outboundHTTP))
    if let key = configuration.vapidKey {
        let push = PushSender(push: storage.push, tasks: storage.tasks, key: key, policy: configuration.pushAddresses, http: outboundHTTP, logger: logger)
        app.addServices(
            DeliveryService(
                claim: { try await storage.push.claimDeliveries(at: $0, leaseEnd: $1, limit: $2) }, send: push.send,
                prune: { try await storage.push.pruneDeliveries(before: $0) }, readiness: readiness, logger: logger))
    }
    if let mailer = configuration.mailer {
        let mail = MailSender(mail: storage.mail, tasks: storage.tasks, mailer: mailer, webURL: configuration.publicWebURL, logger: logger)
        app.addServices(
            DeliveryService(
                claim: { now, leaseEnd, limit in
                    // Digests due now join the queue first, in the transaction that moves each to its next day.
                    _ = try await storage.mail.queueDueDigests(at: now, limit: limit)
                    return try await storage.mail.claimDeliveries(at: now, leaseEnd: leaseEnd, limit: limit)
                },
                send: mail.send, prune: { try await storage.mail.pruneDeliveries(before: $0) }, readiness: readiness, logger: logger))
    }
    return app
}

func buildRouter(
    _ configuration: APIConfiguration, storage: Storage, readiness: Readiness, hub: EventHub,
    assistantHTTP: HTTPClient, provider: OpenIDProvider?, logger: Logger, tokens: AccessTokens
) -> Router<APIRequestContext> {
    let router = Router(context: APIRequestContext.self)
    router.add(middleware: EventStreamTaskMiddleware())
    router.addTracingMiddleware()
    router.add(middleware: RequestLogMiddleware(accessLog: configuration.accessLog, trustedProxies: configuration.trustedProxies))
    router.add(middleware: HTTPMetricsMiddleware())
    router.add(middleware: ErrorMiddleware())

    let body = JSONBody(limit: configuration.maxBodySize)
    let sessions = LiveSessions(store: storage.sessions)
    let authenticator = BearerAuthenticator(tokens: tokens, accounts: storage.accounts, sessions: sessions)
    OperationsController(schema: storage.schema, readiness: readiness, databaseCheckTimeout: .seconds(2))
        .addRoutes(to: router)
    let hasher = PasswordHasher(cost: configuration.passwordHashCost)
    let throttle = LoginThrottle(attempts: storage.attempts, limit: configuration.loginAttemptLimit, addressLimit: configuration.loginAttemptLimit * 5)
    AuthController(
        accounts: storage.accounts, sessions: sessions, authenticator: authenticator, tokens: tokens, hasher: hasher, body: body,
        throttle: throttle,
        signUps: SignUpThrottle(
            attempts: storage.attempts, addressLimit: configuration.signUpAddressLimit, limit: configuration.signUpLimit),
        signUpPolicy: configuration.signUp, firstAccountIsAdmin: configuration.firstAccountIsAdmin,
        passwordLogin: configuration.passwordLogin, provider: provider
    ).addRoutes(to: router.group("api/auth"))
    AdminController(accounts: storage.accounts, sessions: sessions, body: body).addRoutes(
        to: router.group("api/admin").add(middleware: AuthMiddleware(authenticator: authenticator, checksPathUser: false)))
    PasswordResetController(
        resets: storage.passwordResets, sessions: sessions, hasher: hasher, body: body,
        mailer: ResetMailer(configuration, accounts: storage.accounts, resets: storage.passwordResets, attempts: storage.attempts),
        passwordLogin: configuration.passwordLogin
    ).addRoutes(to: router.group("api/auth"))
    TokenController(accounts: storage.accounts, body: body).addRoutes(
        to: router.group("api/tokens").add(middleware: AuthMiddleware(authenticator: authenticator, checksPathUser: false)))
    let user = router.group("api/:user_id")
        .add(middleware: AuthMiddleware(authenticator: authenticator, checksPathUser: true))
    TaskController(tasks: storage.tasks, projects: storage.projects, body: body, taskLimit: configuration.tasksPerUserLimit)
        .addRoutes(to: user.group("tasks"))
    let invitationLinks = InvitationLinks(
        webURL: configuration.publicWebURL, mailer: configuration.mailer, accounts: storage.accounts, attempts: storage.attempts)
    ProjectController(projects: storage.projects, body: body, links: invitationLinks).addRoutes(to: user.group("projects"))
    InvitationController(projects: storage.projects, body: body).addRoutes(to: user.group("invitations"))
    TransferController(
        tasks: storage.tasks, projects: storage.projects, importBody: JSONBody(limit: configuration.maxImportSize), taskLimit: configuration.tasksPerUserLimit
    ).addRoutes(to: user)
    EventController(
        events: storage.events, tasks: storage.tasks, hub: hub, heartbeat: configuration.eventHeartbeat,
        streams: InFlightLimit(limit: configuration.eventStreamsPerUser)
    ) { token in
        (try? await authenticator.authenticate(token)) != nil
    }.addRoutes(to: user)
    CalendarFeedController(
        accounts: storage.accounts, tasks: storage.tasks, authSecret: configuration.authSecret, publicWebURL: configuration.publicWebURL
    ).addRoutes(user: user, public: router)
    WebhookController(webhooks: storage.webhooks, policy: configuration.webhookAddresses, body: body).addRoutes(to: user.group("webhooks"))
    CalDAVController(
        accounts: storage.accounts, tasks: storage.tasks, projects: storage.projects, events: storage.events, objects: storage.calendarObjects,
        authenticator: CalDAVAuthenticator(accounts: storage.accounts, throttle: throttle), bodyLimit: configuration.maxBodySize,
        taskLimit: configuration.tasksPerUserLimit
    ).addRoutes(to: router)
    NotificationController(mail: storage.mail, mailEnabled: configuration.mailer != nil, body: body).addRoutes(to: user)
    PushController(push: storage.push, key: configuration.vapidKey, policy: configuration.pushAddresses, body: body)
        .addRoutes(user: user, public: router)
    ChatController(
        conversations: storage.conversations, attempts: storage.attempts, body: body, configuration: configuration.assistant,
        http: assistantHTTP, logger: logger).addRoutes(to: user)
    return router
}

/// Brings the schema up to date (or waits for `todo migrate` to do it), retrying while the
/// database is unreachable, then marks the process ready.
struct SchemaService: Service {
    let schema: any SchemaStore
    let readiness: Readiness
    let migrate: Bool
    let logger: Logger

    func run() async throws {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let applied = try await cancelWhenGracefulShutdown {
                    if migrate { try await schema.migrate(logger: logger) }
                    return try await schema.appliedSchemaVersion()
                }
                if applied >= Schema.latestVersion {
                    readiness.markSchemaReady()
                    break
                }
                logger.warning("waiting for migrations", metadata: ["applied": .stringConvertible(applied), "needed": .stringConvertible(Schema.latestVersion)])
            } catch {
                logger.warning("database not ready", metadata: ["error": "\(error)"])
            }
            let pause = delay
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            delay = min(delay * 2, .seconds(5))
        }
        try? await gracefulShutdown()
    }
}

extension Readiness {
    /// The backend is started up once the database has the schema this build needs.
    var isSchemaReady: Bool { isStartedUp }
    func markSchemaReady() { markStartedUp() }
}
