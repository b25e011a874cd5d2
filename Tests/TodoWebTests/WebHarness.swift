#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import TodoAPI
import TodoClient
import TodoCore
import TodoServer
import TodoStore
import TodoTestSupport
@testable import TodoWeb

/// The web UI server, driven in process through Hummingbird's router test client, in front
/// of a live backend (or of a port where nothing listens).
/// At most two run at once: see `ServerGate`.
struct WebHarness: Sendable {
    let client: any TestClientProtocol
    /// Nil when the web server was pointed at a backend that is down.
    let backend: LiveBackend?
    let readiness: Readiness

    static func run(
        backend configureBackend: (inout APIConfiguration) -> Void = { _ in },
        web configureWeb: @escaping @Sendable (inout WebConfiguration) -> Void = { _ in },
        testing: TestingSetup = .router,
        _ body: @escaping @Sendable (WebHarness) async throws -> Void
    ) async throws {
        try await ServerGate.shared.run {
            try await LiveBackend.serve(configure: configureBackend) { backend in
                try await serve(backendURL: backend.baseURL, backend: backend, configureWeb, testing: testing, body)
            }
        }
    }

    /// A web server whose backend is not running. AsyncHTTPClient retries a refused connection
    /// until the call's deadline, so the timeouts are short here to keep the tests fast.
    static func withoutBackend(
        timeout: Duration = .milliseconds(300), _ body: @escaping @Sendable (WebHarness) async throws -> Void
    ) async throws {
        try await ServerGate.shared.run {
            try await RefusingPort.withURL { url in
                try await serve(backendURL: url, backend: nil, {
                    $0.backendTimeout = timeout
                    $0.proxyTimeout = timeout
                }, body)
            }
        }
    }

    private static func serve(
        backendURL: String, backend: LiveBackend?, _ configure: (inout WebConfiguration) -> Void, testing: TestingSetup = .router,
        _ body: @Sendable (WebHarness) async throws -> Void
    ) async throws {
        var configuration = WebConfiguration()
        configuration.backendURL = backendURL
        configuration.accessLog = false
        configuration.backendTimeout = .seconds(5)
        configure(&configuration)
        var logger = Logger(label: "web")
        logger.logLevel = .critical
        let readiness = Readiness()
        let app = try await buildWebApplication(configuration, readiness: readiness, logger: logger)
        try await app.test(testing) { client in
            try await body(WebHarness(client: client, backend: backend, readiness: readiness))
        }
    }

    var api: LiveBackend {
        get throws { try #require(backend) }
    }

    /// Sends a request as a browser would: `cookies` in a `Cookie` header, `form` url-encoded.
    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, cookies: [String: String] = [:], headers: HTTPFields = [:],
        form: [(String, String)]? = nil, body: String? = nil
    ) async throws -> Reply {
        var headers = headers
        if !cookies.isEmpty {
            headers[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        }
        var payload = body.map { ByteBuffer(string: $0) }
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            payload = ByteBuffer(string: FormEncoding.encode(form))
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: payload) {
            Reply(status: $0.status, headers: $0.headers, body: $0.body)
        }
    }

    /// A visitor signed in with a new account (made through the backend): its cookies and CSRF token.
    func signedIn() async throws -> Visitor {
        let email = "user-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let session = try await api.client.signUp(email: email, password: LiveBackend.password, name: "Pat")
        return Visitor(email: email, token: session.token)
    }

    /// A new visitor: the visitor cookie and CSRF token the log-in page handed out.
    func visitor(_ path: String = "/login") async throws -> (cookies: [String: String], csrf: String) {
        let page = try await request(.get, path)
        #expect(page.status == .ok)
        let cookie = try #require(page.cookie(Session.visitorCookieName))
        return ([Session.visitorCookieName: cookie.value], try #require(page.csrf))
    }
}

/// A signed-in browser: the session cookie (the backend's token) and the page's CSRF token.
struct Visitor: Sendable {
    var email: String
    var token: String
    /// The time-zone cookie as the page's script writes it (percent-encoded: `Europe%2FBerlin`).
    var timeZone: String?

    var cookies: [String: String] {
        var cookies = [Session.cookieName: token]
        if let timeZone { cookies[Session.timeZoneCookieName] = timeZone }
        return cookies
    }

    var csrf: String { Session.csrfToken(forKey: token) }
}

/// One response of the web server.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    var text: String { String(buffer: body) }
    var location: String? { headers[.location] }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }

    /// The CSRF token the page's layout carries.
    var csrf: String? { firstMatch(#"<meta name="csrf-token" content="([^"]+)""#) }

    /// The value of a form input, with the HTML entities the templates write decoded.
    func inputValue(_ name: String) -> String? {
        firstMatch(#"name="\#(name)"[^>]*value="([^"]*)""#).map(Self.unescape)
    }

    func firstMatch(_ pattern: String) -> String? {
        let expression = try! NSRegularExpression(pattern: pattern)
        let text = self.text
        guard let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text) else { return nil }
        return String(text[range])
    }

    /// A cookie this response sets, with its attributes (`HttpOnly`, `SameSite=Lax`, ...).
    func cookie(_ name: String) -> SetCookie? {
        headers[values: .setCookie].lazy.compactMap(SetCookie.init).first { $0.name == name }
    }

    static func unescape(_ text: String) -> String {
        [("&quot;", "\""), ("&#39;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")]
            .reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }
}

/// A `Set-Cookie` header, read.
struct SetCookie: Sendable {
    var name: String
    var value: String
    /// Attribute names as written (`HttpOnly`), with their values (`SameSite` → `Lax`); "" for flags.
    var attributes: [String: String]

    init?(_ header: String) {
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else { return nil }
        name = String(first[..<equals])
        value = String(first[first.index(after: equals)...])
        attributes = [:]
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            attributes[pair[0]] = pair.count > 1 ? pair[1] : ""
        }
    }
}

enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        return fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}
