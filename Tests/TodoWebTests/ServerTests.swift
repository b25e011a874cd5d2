import Foundation
import HTTPTypes
import Testing
import TodoTestSupport
import TodoCore
import TodoServer
@testable import TodoWeb

/// Health and readiness, the headers on every response, static files over HTTP, and what a
/// visitor sees while the backend is down.
@Suite struct ServerTests {
    @Test func readinessIs200WhileTheBackendAnswersAnd503WhileThisServerDrains() async throws {
        try await WebHarness.run { web in
            let ready = try await web.request(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.json["status"] as? String == "ready")
            web.readiness.startDraining()
            let draining = try await web.request(.get, "/readyz")
            #expect(draining.status == .serviceUnavailable)
            #expect(draining.json["status"] as? String == "draining")
            #expect(try await web.request(.get, "/healthz").status == .ok)
        }
    }

    @Test func versionAndMetricsAnswerInPrometheusNames() async throws {
        try await WebHarness.run { web in
            let version = try await web.request(.get, "/version")
            #expect(version.json["name"] as? String == "todo-web")
            #expect(version.json["version"] as? String == BuildInfo.version)
            let metrics = try await web.request(.get, "/metrics")
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"http_server_requests_total{http_route="/version",http_request_method="GET",http_response_status_code="200"}"#))
            #expect(metrics.text.contains("# TYPE process_cpu_seconds_total counter"))
        }
    }

    @Test func withTheBackendDownTheServerIsHealthyButNotReady() async throws {
        try await WebHarness.withoutBackend { web in
            let health = try await web.request(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            let ready = try await web.request(.get, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["status"] as? String == "backend unreachable")
            #expect(ready.headers[.cacheControl] == "no-store")
        }
    }

    @Test func withTheBackendDownPagesAndFormsSay503WithRetryAfterAndTheAPIAnswersJSON() async throws {
        try await WebHarness.withoutBackend { web in
            let signedIn: [String: String] = [Session.cookieName: "a-token"]
            let page = try await web.request(.get, "/", cookies: signedIn)
            #expect(page.status == .serviceUnavailable)
            #expect(page.headers[.retryAfter] == "5")
            #expect(page.text.contains("The task service is not answering"))
            #expect(page.cookie(Session.cookieName) == nil, "the session is kept for when the backend is back")

            let (cookies, csrf) = try await web.visitor()
            let logIn = try await web.request(.post, "/login", cookies: cookies, form: [
                ("_csrf", csrf), ("email", "ann@example.com"), ("password", LiveBackend.password),
            ])
            #expect(logIn.status == .serviceUnavailable)
            #expect(logIn.headers[.retryAfter] == "5")

            let api = try await web.request(.get, "/api/me/tasks", cookies: signedIn)
            #expect(api.status == .serviceUnavailable)
            #expect(api.errorCode == "unavailable")
            #expect(api.headers[.retryAfter] == "5")
        }
    }

    /// The MCP server's client already fails a refused connection at once; the web server's
    /// still retries it until `backendTimeout` (10 s by default) before the 503 page.
    @Test func withTheBackendDownAPageAnswers503AtOnceRatherThanAfterTheBackendTimeout() async throws {
        try await WebHarness.withoutBackend(timeout: .seconds(2)) { web in
            let started = ContinuousClock.now
            let page = try await web.request(.get, "/", cookies: [Session.cookieName: "a-token"])
            let elapsed = ContinuousClock.now - started
            #expect(page.status == .serviceUnavailable)
            #expect(elapsed < .seconds(1))
        }
    }

    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    @Test func everyKindOfResponseCarriesTheSecurityHeaders() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let page = try await web.request(.get, "/login")
            let css = try #require(page.firstMatch(#"href="(/static/app\.[0-9a-f]{10}\.css)""#))
            let responses: [(String, Reply)] = [
                ("page", try await web.request(.get, "/", cookies: account.cookies)),
                ("log-in page", page),
                ("redirect", try await web.request(.get, "/settings")),
                ("missing page", try await web.request(.get, "/no-such-page")),
                ("refused form", try await web.request(.post, "/tasks", cookies: account.cookies, form: [("text", "x")])),
                ("health", try await web.request(.get, "/healthz")),
                ("static file", try await web.request(.get, css)),
                ("proxied call", try await web.request(.get, "/api/me/tasks", cookies: account.cookies)),
                ("proxied error", try await web.request(.get, "/api/me/tasks")),
            ]
            for (name, reply) in responses {
                #expect(reply.headers[.contentSecurityPolicy] == Self.contentSecurityPolicy, "\(name)")
                #expect(reply.headers[.xContentTypeOptions] == "nosniff", "\(name)")
                #expect(reply.headers[.xFrameOptions] == "DENY", "\(name)")
                #expect(reply.headers[.referrerPolicy] == "same-origin", "\(name)")
                #expect(reply.headers[.crossOriginOpenerPolicy] == "same-origin", "\(name)")
                #expect(reply.headers[.crossOriginResourcePolicy] == "same-origin", "\(name)")
                #expect(reply.headers[.permissionsPolicy]?.contains("camera=()") == true, "\(name)")
                #expect(reply.headers[.xRequestID] != nil, "\(name)")
            }
            #expect(responses[3].1.status == .notFound)
            #expect(responses[4].1.status == .forbidden)
        }
    }

    @Test func thePagesLinkEveryStaticFileByItsVersionedPathAndServeItCachedForAYear() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            // The push worker is linked only where push is turned on: Settings.
            let pages = [try await web.request(.get, "/login"), try await web.request(.get, "/settings", cookies: account.cookies)]
            for (name, bytes) in EmbeddedFiles.assets {
                let parts = name.split(separator: ".")
                let link = #"(/static/\#(parts[0])\.[0-9a-f]{10}\.\#(parts[1]))""#
                let path = try #require(pages.lazy.compactMap { $0.firstMatch(link) }.first, "\(name)")
                let plain = try await web.request(.get, path, headers: [.acceptEncoding: "identity"])
                #expect(plain.status == .ok)
                #expect(plain.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(Array(plain.body.readableBytesView) == bytes, "\(name)")
                let etag = try #require(plain.headers[.eTag])
                let again = try await web.request(.get, path, headers: [.acceptEncoding: "identity", .ifNoneMatch: etag])
                #expect(again.status == .notModified, "\(name)")
                #expect(again.body.readableBytes == 0)
            }
        }
    }

    @Test func scriptsAndStylesAreGzippedForBrowsersThatAcceptIt() async throws {
        try await WebHarness.run { web in
            let page = try await web.request(.get, "/login")
            let script = try #require(page.firstMatch(#"src="(/static/app\.[0-9a-f]{10}\.js)""#))
            let packed = try await web.request(.get, script, headers: [.acceptEncoding: "gzip, deflate, br"])
            #expect(packed.headers[.contentEncoding] == "gzip")
            #expect(packed.headers[.vary] == "Accept-Encoding")
            let bytes = try #require(EmbeddedFiles.assets.first { $0.name == "app.js" }?.bytes)
            #expect(packed.body.readableBytes * 2 < bytes.count)
            #expect(try AssetAndGzipTests.gunzip(Array(packed.body.readableBytesView)) == bytes)
        }
    }

    @Test(arguments: ["/static/app.css.map", "/static/..%2f..%2fetc%2fpasswd", "/static/%2e%2e", "/static/app", "/static/"])
    func aStaticPathThatNamesNoEmbeddedFileIs404(_ path: String) async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, path)
            #expect(reply.status == .notFound, "\(path)")
            #expect(!reply.text.contains("root:"))
        }
    }

    @Test func theFaviconRedirectsToTheVersionedIcon() async throws {
        try await WebHarness.run { web in
            let reply = try await web.request(.get, "/favicon.ico")
            #expect(reply.status == .seeOther)
            #expect(reply.location?.wholeMatch(of: /\/static\/icon\.[0-9a-f]{10}\.svg/) != nil)
        }
    }
}
