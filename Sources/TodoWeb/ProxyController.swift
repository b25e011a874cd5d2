import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import TodoClient
import TodoServer

/// `/api/*`: passes calls to the backend so that the browser needs only one origin. The
/// session cookie becomes `Authorization: Bearer`, so scripts (and `EventSource`) need no
/// token; a state-changing call authenticated by the cookie must carry the page's CSRF token
/// in `X-CSRF-Token`. Live-event streams pass through as they arrive.
///
/// CalDAV (`/dav/*`, `/.well-known/caldav`, PROPFIND on `/`) passes too, so that tasks apps use
/// this site's address like the browser; it authenticates with its own `Authorization: Basic`,
/// never the session cookie (a 401 there must not end the browser's session).
struct ProxyController: Sendable {
    let client: TodoClient
    let timeout: Duration
    let maxBodySize: Int
    let streams: EventStreamGate

    /// Request headers the backend may see (never the browser's cookies).
    static let forwardedRequestHeaders: [HTTPField.Name] = [
        .accept, .acceptLanguage, .contentType, .ifMatch, .ifNoneMatch, .lastEventID, .userAgent, HTTPField.Name("Depth")!,
    ]
    static let davMethods: [HTTPRequest.Method] =
        [.options, .get, .head, .put, .delete] + ["PROPFIND", "REPORT", "PROPPATCH"].compactMap { HTTPRequest.Method($0) }
    /// Response headers that belong to one connection, or that the web server sets itself.
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate",
        "proxy-authorization", "set-cookie", "content-length", "date", "server", "x-request-id",
    ]

    func addRoutes(to router: Router<WebRequestContext>) {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("api/**", method: method, use: forward)
        }
        for method in Self.davMethods {
            router.on("dav", method: method, use: forward)
            router.on("dav/**", method: method, use: forward)
        }
        for method in [HTTPRequest.Method.get, .options] + ["PROPFIND"].compactMap({ HTTPRequest.Method($0) }) {
            router.on(".well-known/caldav", method: method, use: forward)
        }
        if let propfind = HTTPRequest.Method("PROPFIND") { router.on("/", method: propfind, use: forward) }
    }

    /// Whether the path is the backend's: the API, or CalDAV.
    static func isProxied(_ path: String, method: HTTPRequest.Method) -> (proxied: Bool, isDAV: Bool) {
        if path.hasPrefix("/api/") { return (true, false) }
        let dav = path == "/dav" || path.hasPrefix("/dav/") || path == "/.well-known/caldav" || (path == "/" && method.rawValue == "PROPFIND")
        return (dav, dav)
    }

    @Sendable func forward(_ request: Request, context: WebRequestContext) async throws -> Response {
        let path = request.uri.path
        let (proxied, isDAV) = Self.isProxied(path, method: request.method)
        guard proxied, !path.split(separator: "/").contains(where: { segment in
            let decoded = segment.removingPercentEncoding ?? String(segment)
            return decoded == "." || decoded == ".." || decoded.contains("/")
        }) else {
            return PageSupport.jsonError(.badRequest, code: "invalid_path", message: "not a valid API path")
        }
        var headers: [(String, String)] = Self.forwardedRequestHeaders.compactMap { name in
            request.headers[name].map { (name.canonicalName, $0) }
        }
        headers.append(("X-Request-Id", context.requestID))
        if let forwardedFor = request.forwardedFor(context) { headers.append(("X-Forwarded-For", forwardedFor)) }
        let usesCookie: Bool
        if let authorization = request.headers[.authorization] {
            headers.append(("Authorization", authorization))
            usesCookie = false
        } else if !isDAV, let token = context.sessionToken {
            headers.append(("Authorization", "Bearer \(token)"))
            usesCookie = true
        } else {
            usesCookie = false
        }
        let safe = request.method == .get || request.method == .head
        if usesCookie, !safe, !Session.isValid(request.headers[.xCSRFToken], expected: context.csrfToken) {
            return PageSupport.jsonError(.forbidden, code: "csrf", message: "missing or wrong X-CSRF-Token header")
        }
        var body: ByteBuffer?
        if !safe {
            do {
                body = try await request.body.collect(upTo: maxBodySize)
            } catch {
                return PageSupport.jsonError(.contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(maxBodySize) bytes")
            }
        }
        let target = path + (request.uri.query.map { "?" + $0 } ?? "")
        var backend = client
        var slots: [InFlightLimit.Slot] = []
        if EventStreamGate.isStream(request) {
            switch streams.admit(credential: request.headers[.authorization] ?? context.sessionToken ?? "") {
            case .admitted(let held): (backend, slots) = (streams.client, held)
            case .refused(let response): return response
            }
        }
        let upstream: HTTPClientResponse
        do {
            upstream = try await backend.forward(method: request.method.rawValue, path: target, headers: headers, body: body, timeout: timeout)
        } catch {
            context.logger.warning("backend unreachable", metadata: ["error": "\(error)"])
            var response = PageSupport.jsonError(.serviceUnavailable, code: "unavailable", message: "the task service is not answering; try again shortly")
            response.headers[.retryAfter] = "5"
            return response
        }
        var responseHeaders = HTTPFields()
        for header in upstream.headers where !Self.droppedResponseHeaders.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { responseHeaders.append(HTTPField(name: name, value: header.value)) }
        }
        if usesCookie, upstream.status.code == 401 {
            var expired = Response(status: .unauthorized)
            expired.setCookie(Session.expiredCookie(secure: context.isSecure))
            responseHeaders.append(contentsOf: expired.headers)
        }
        let stream = upstream.body, held = slots
        let isEventStream = upstream.headers.first(name: "content-type")?.hasPrefix("text/event-stream") ?? false
        let length = upstream.headers.first(name: "content-length").flatMap(Int.init)
        return Response(
            status: HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase),
            headers: responseHeaders,
            body: ResponseBody(contentLength: isEventStream ? nil : length) { writer in
                // The stream's places are given back when it ends (or this body is dropped unrun).
                defer { withExtendedLifetime(held) {} }
                if isEventStream {
                    // A stream never ends on its own: end it when this server shuts down.
                    let (chunks, feed) = AsyncStream<ByteBuffer>.makeStream()
                    let reader = Task {
                        do {
                            for try await chunk in stream { feed.yield(chunk) }
                        } catch {}
                        feed.finish()
                    }
                    defer { reader.cancel() }
                    try await withGracefulShutdownHandler {
                        for await chunk in chunks { try await writer.write(chunk) }
                    } onGracefulShutdown: {
                        feed.finish()
                    }
                } else {
                    for try await chunk in stream { try await writer.write(chunk) }
                }
                try await writer.finish(nil)
            })
    }
}

/// Live-event streams through the proxy: a pool of backend connections of their own, so that
/// open streams never leave pages waiting for one, at most `perSession` streams per credential
/// (session cookie or bearer token), and at most `total` at once (the pool's size: past it a
/// stream would wait for a connection until its timeout, so it is refused at once instead).
struct EventStreamGate: Sendable {
    let client: TodoClient
    let perCredential: InFlightLimit
    let everyone: InFlightLimit

    init(client: TodoClient, perSession: Int, total: Int) {
        self.client = client
        perCredential = InFlightLimit(limit: perSession)
        everyone = InFlightLimit(limit: total)
    }

    enum Admission {
        case admitted([InFlightLimit.Slot])
        case refused(Response)
    }

    static func isStream(_ request: Request) -> Bool {
        request.method == .get && request.uri.path.split(separator: "/").last == "events"
    }

    func admit(credential: String) -> Admission {
        // Keyed by a digest: the map holds no credentials.
        let key = Data(SHA256.hash(data: Data(credential.utf8))).base64EncodedString()
        guard let own = perCredential.slot(key) else {
            return .refused(Self.tooMany(429, "too_many_streams", "\(perCredential.limit) live-event streams are open for this session already; close a tab first"))
        }
        guard let shared = everyone.slot("") else {
            return .refused(Self.tooMany(503, "unavailable", "too many live-event streams are open on this server; try again shortly"))
        }
        return .admitted([own, shared])
    }

    static func tooMany(_ status: Int, _ code: String, _ message: String) -> Response {
        var response = PageSupport.jsonError(HTTPResponse.Status(code: status), code: code, message: message)
        response.headers[.retryAfter] = "30"
        return response
    }
}
