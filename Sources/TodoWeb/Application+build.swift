import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import TodoClient
import TodoServer

/// Builds the web UI server: it renders pages from the backend's data, serves the static files
/// and proxies `/api/*` to the backend, which it reaches only over HTTP at
/// `configuration.backendURL`. `main` and the tests both call this; one place shows how the
/// web server is put together. Run it with `runUntilShutdown`, with the same `readiness`, for
/// graceful shutdown.
public func buildWebApplication(
    _ configuration: WebConfiguration,
    readiness: Readiness = Readiness(),
    server: HTTPServerBuilder = .http1(),
    logger: Logger
) async throws -> some ApplicationProtocol {
    let http = backendHTTPClient(connections: configuration.backendConnections)
    let streamHTTP = backendHTTPClient(connections: configuration.streamConnections)
    let client = TodoClient(baseURL: configuration.backendURL, http: http, timeout: configuration.backendTimeout)
    let streamClient = TodoClient(baseURL: configuration.backendURL, http: streamHTTP, timeout: configuration.backendTimeout)
    let probeHTTP = backendHTTPClient(connections: 2, traced: false)
    let probeClient = TodoClient(baseURL: configuration.backendURL, http: probeHTTP, timeout: configuration.backendTimeout)
    let views = try Views(assets: AssetCatalog(files: EmbeddedFiles.assets))

    let router = Router(context: WebRequestContext.self)
    router.add(middleware: EventStreamTaskMiddleware())
    router.addTracingMiddleware()
    router.add(middleware: RequestLogMiddleware<WebRequestContext>(accessLog: configuration.accessLog))
    router.add(middleware: HTTPMetricsMiddleware())
    router.add(middleware: SessionMiddleware(cookieSecure: configuration.cookieSecure, trustedProxies: configuration.trustedProxies))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: PageErrorMiddleware(views: views))

    HealthController(client: probeClient, readiness: readiness).addRoutes(to: router)
    router.get("static/:file") { request, context in
        guard let file = context.parameters.get("file"), let response = views.assets.response(for: file, request: request) else {
            throw WebError.notFound
        }
        return response
    }
    router.get("favicon.ico") { _, _ in Response.redirect(to: views.assets.path("icon.svg")) }
    try InstallableApp(views: views, serviceWorkerSource: PackageResources.sw_js).addRoutes(to: router)
    ProxyController(
        client: client, timeout: configuration.proxyTimeout, maxBodySize: configuration.maxBodySize,
        streams: EventStreamGate(client: streamClient, perSession: configuration.eventStreamsPerSession,
                                 total: configuration.streamConnections)
    ).addRoutes(to: router)

    let pages = router.group().add(middleware: FormMiddleware(maxBodySize: configuration.maxBodySize))
    let sessionLifetime = configuration.sessionLifetime
    AuthPages(client: client, views: views, sessionLifetime: sessionLifetime, signUpPolicy: configuration.signUp,
              singleSignOnName: configuration.singleSignOnName, passwordLogin: configuration.passwordLogin, publicURL: configuration.publicURL)
        .addRoutes(to: pages)
    PasswordResetPages(client: client, views: views, passwordLogin: configuration.passwordLogin).addRoutes(to: pages)
    TaskPages(client: client, views: views).addRoutes(to: pages)
    SettingsPages(client: client, views: views, publicURL: configuration.publicURL).addRoutes(to: pages)
    AdminPages(client: client, views: views, publicURL: configuration.publicURL).addRoutes(to: pages)
    ChatPages(client: client, views: views).addRoutes(to: pages)
    InvitationPages(client: client, views: views).addRoutes(to: pages)
    SharePages(client: client, views: views).addRoutes(to: pages)

    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger)
    app.addServices(HTTPClientService(http: http), HTTPClientService(http: streamHTTP), HTTPClientService(http: probeHTTP))
    return app
}

/// A client of the backend with a pool of `connections`. An untraced one (`traced: false`) is for
/// the readiness probe, which the kubelet calls every few seconds: a client span each would
/// start a trace each.
func backendHTTPClient(connections: Int, traced: Bool = true) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    if !traced { configuration.tracing.tracer = nil }
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    configuration.timeout.connect = .seconds(3)
    // A refused connection fails at once: retried until the request's deadline, every page
    // would wait out `backendTimeout` to say that the backend is down.
    configuration.connectionPool.retryConnectionEstablishment = false
    // A redirect is the client's to follow (CalDAV's /.well-known/caldav), not the proxy's.
    configuration.redirectConfiguration = .disallow
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}

/// The templates and static files, compiled into the binary (the runtime image has no files).
enum EmbeddedFiles {
    static let templates: [(String, [UInt8])] = [
        ("layout", PackageResources.layout_mustache),
        ("login", PackageResources.login_mustache),
        ("forgot", PackageResources.forgot_mustache),
        ("reset", PackageResources.reset_mustache),
        ("signup", PackageResources.signup_mustache),
        ("tasks", PackageResources.tasks_mustache),
        ("task_list", PackageResources.task_list_mustache),
        ("sidebar_item", PackageResources.sidebar_item_mustache),
        ("sidebar_lists", PackageResources.sidebar_lists_mustache),
        ("edit", PackageResources.edit_mustache),
        ("settings", PackageResources.settings_mustache),
        ("admin", PackageResources.admin_mustache),
        ("chat", PackageResources.chat_mustache),
        ("message", PackageResources.message_mustache),
        ("invitation", PackageResources.invitation_mustache),
        ("share", PackageResources.share_mustache),
        ("confirm_delete", PackageResources.confirm_delete_mustache),
    ]

    static let assets: [(name: String, bytes: [UInt8])] = [
        ("app.css", PackageResources.app_css),
        ("app.js", PackageResources.app_js),
        ("theme.js", PackageResources.theme_js),
        ("icon.svg", PackageResources.icon_svg),
        ("icon-192.png", PackageResources.icon_192_png),
        ("icon-512.png", PackageResources.icon_512_png),
        ("icon-maskable-512.png", PackageResources.icon_maskable_512_png),
    ]
}
