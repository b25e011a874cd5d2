import TodoCore
import TodoServer

/// Settings of the web UI server. The `todo` executable fills them from the environment.
public struct WebConfiguration: Sendable {
    /// When the session cookie carries the `Secure` attribute.
    public enum CookieSecurity: String, Sendable, CaseIterable {
        /// Only when the request came over HTTPS (`X-Forwarded-Proto: https` from a trusted proxy in front).
        case auto
        /// Always (the site is only ever served over HTTPS).
        case always
        /// Never (plain HTTP on a laptop or in a test).
        case never
    }

    public var host = "127.0.0.1"
    public var port = 3000
    /// The backend API, reached only over HTTP, like `http://127.0.0.1:8000`.
    public var backendURL = "http://127.0.0.1:8000"
    public var cookieSecure = CookieSecurity.auto
    /// Who may sign up (`SIGNUP`): `open` offers the form to everyone, `invite` only on an
    /// invitation's link, `closed` to nobody.
    public var signUp = SignUpPolicy.open
    /// Single sign-on (`OIDC_ISSUER` set): the log-in page offers "Sign in with" this name
    /// (`OIDC_NAME`, default "single sign-on"). The API holds the rest of the settings.
    public var singleSignOnName: String?
    /// Whether the log-in and sign-up forms ask for a password (`PASSWORD_LOGIN`).
    public var passwordLogin = true
    /// The address browsers reach this server at (`PUBLIC_WEB_URL`), for the provider's redirect
    /// URI; without it, the address of the request (its `Host`).
    public var publicURL: String?
    /// The proxies in front (ingress, TLS proxy) whose `X-Forwarded-Proto` says whether the
    /// browser used HTTPS.
    public var trustedProxies = TrustedProxies([IPNetwork("127.0.0.1")!, IPNetwork("::1")!])
    /// The longest a session cookie lives; it never outlives the backend's access token.
    public var sessionLifetime: Duration = .seconds(86_400)
    /// How long a page waits for the backend before it says the backend is unavailable.
    public var backendTimeout: Duration = .seconds(10)
    /// How long a proxied `/api/*` call waits for the backend's response head (a chat answer
    /// from a remote model can take a while; event streams then stay open as long as needed).
    public var proxyTimeout: Duration = .seconds(120)
    /// The largest request body accepted, in bytes (forms, uploads, proxied calls).
    public var maxBodySize = 16 << 20
    /// Connections to the backend for pages and API calls.
    public var backendConnections = 1024
    /// Connections to the backend for live-event streams, a pool of their own: each open stream
    /// holds one for as long as it is open, and streams must never leave pages waiting.
    public var streamConnections = 1000
    /// Live-event streams one browser session may hold open at once.
    public var eventStreamsPerSession = 10
    public var accessLog = true

    public init() {}
}
