import Foundation
import Hummingbird
import NIOCore
import TodoServer

/// What the middleware learns about a request and hands on to the handlers.
public struct WebRequestContext: RequestLogContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID = ""
    /// The backend access token from the session cookie.
    var sessionToken: String?
    /// The CSRF token every form and every state-changing `/api/*` call must carry.
    var csrfToken = ""
    /// Whether the browser reached us over HTTPS (directly or through a proxy that says so).
    var isSecure = false
    /// The address the browser asked for (`Host`), for links when `PUBLIC_WEB_URL` is unset.
    var authority: String?
    /// The user's time zone (a cookie set by the page's script); UTC without one.
    var timeZone = TimeZone(identifier: "UTC")!
    /// The decoded body of a form POST, read (and its CSRF token checked) by `FormMiddleware`.
    var form = FormData()
    /// The peer's address (the browser, or the proxy in front of this server).
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }
}
