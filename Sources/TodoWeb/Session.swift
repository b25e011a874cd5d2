import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import TodoServer

/// The browser session: the backend's access token in an HttpOnly cookie, and a CSRF token
/// derived from it. Nothing is kept on the server, so any replica can serve any request.
///
/// Over HTTPS the cookies carry the `__Host-` prefix: browsers then accept them only with
/// `Secure`, `Path=/` and no `Domain`, so a neighbouring subdomain or a plain-HTTP page cannot
/// plant a session of its choosing (cookie tossing). Over HTTPS only the prefixed names are read.
enum Session {
    static let cookieName = "todo_session"
    /// A random value for visitors without a session, so that the log-in and sign-up forms
    /// carry a CSRF token too (no log-in CSRF).
    static let visitorCookieName = "todo_visitor"
    static let securePrefix = "__Host-"

    static func cookieName(secure: Bool) -> String { secure ? securePrefix + cookieName : cookieName }
    static func visitorCookieName(secure: Bool) -> String { secure ? securePrefix + visitorCookieName : visitorCookieName }
    /// The user's IANA time zone, written by the page's script.
    static let timeZoneCookieName = "todo_tz"

    /// The CSRF token of a session: an HMAC keyed by the session's secret cookie value, so
    /// that only someone who holds the cookie can compute it (a synchronizer token without
    /// server-side state).
    static func csrfToken(forKey key: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("todo-web-csrf-v1".utf8), using: SymmetricKey(data: Data(key.utf8)))
        return Data(code).base64URLEncodedString()
    }

    /// Compares in constant time.
    static func isValid(_ candidate: String?, expected: String) -> Bool {
        guard let candidate, candidate.utf8.count == expected.utf8.count, !expected.isEmpty else { return false }
        return zip(candidate.utf8, expected.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func randomValue() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64URLEncodedString()
    }

    static func cookie(token: String, maxAge: Int, secure: Bool) -> Cookie {
        Cookie(name: cookieName(secure: secure), value: token, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func expiredCookie(secure: Bool) -> Cookie {
        Cookie(name: cookieName(secure: secure), value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func visitorCookie(_ value: String, secure: Bool) -> Cookie {
        Cookie(name: visitorCookieName(secure: secure), value: value, maxAge: 30 * 86_400, path: "/", secure: secure, httpOnly: true,
               sameSite: .lax)
    }
}

/// Reads the session and visitor cookies, works out the CSRF token, the time zone and whether
/// the request came over HTTPS; gives a new visitor a visitor cookie with its first page.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let cookieSecure: WebConfiguration.CookieSecurity
    /// The proxies whose `X-Forwarded-Proto` is believed: anyone else could claim HTTPS.
    let trustedProxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.authority = request.head.authority
        switch cookieSecure {
        case .always: context.isSecure = true
        case .never: context.isSecure = false
        case .auto:
            let fromProxy = context.clientAddress.map(trustedProxies.contains) ?? false
            context.isSecure = fromProxy && request.headers[.xForwardedProto]?.split(separator: ",").first?
                .trimmingCharacters(in: .whitespaces).lowercased() == "https"
        }
        if let token = request.cookies[Session.cookieName(secure: context.isSecure)]?.value, !token.isEmpty {
            context.sessionToken = token
        }
        var newVisitor: String?
        let key: String
        if let token = context.sessionToken {
            key = token
        } else if let visitor = request.cookies[Session.visitorCookieName(secure: context.isSecure)]?.value, visitor.utf8.count >= 32 {
            key = visitor
        } else {
            let visitor = Session.randomValue()
            newVisitor = visitor
            key = visitor
        }
        context.csrfToken = Session.csrfToken(forKey: key)
        if let zone = request.cookies[Session.timeZoneCookieName]?.value.removingPercentEncoding, let timeZone = TimeZone(identifier: zone) {
            context.timeZone = timeZone
        }
        var response = try await next(request, context)
        if let newVisitor, response.headers[.contentType]?.hasPrefix("text/html") == true {
            response.setCookie(Session.visitorCookie(newVisitor, secure: context.isSecure))
        }
        return response
    }
}

extension Data {
    func base64URLEncodedString() -> String {
        base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xCSRFToken = HTTPField.Name("X-CSRF-Token")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
