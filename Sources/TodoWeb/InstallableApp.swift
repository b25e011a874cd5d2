import Crypto
import Foundation
import Hummingbird
import TodoCore

/// What makes the web UI an installable app: the web app manifest, the service worker (served
/// from the root, so its scope is the whole site) and the page it shows without a connection.
/// All three are made once, at start, from the build's asset paths.
struct InstallableApp: Sendable {
    let manifest: ByteBuffer
    let serviceWorker: ByteBuffer
    let offlinePage: String

    init(views: Views, serviceWorkerSource: [UInt8]) throws {
        let assets = views.assets
        manifest = ByteBuffer(bytes: try Self.manifest(assets))
        // The paths to keep offline; their hashes make each build's worker new, so browsers update it.
        let precache = ["app.css", "app.js", "theme.js", "icon.svg", "icon-192.png"].map(assets.path)
        let version = SHA256.hash(data: Data(precache.joined(separator: "\n").utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        let filled = try JSONSerialization.data(withJSONObject: ["version": version, "assets": precache], options: [.sortedKeys, .withoutEscapingSlashes])
        let source = String(decoding: serviceWorkerSource, as: UTF8.self)
        serviceWorker = ByteBuffer(string: source.replacingOccurrences(of: "\"__PRECACHE__\"", with: String(decoding: filled, as: UTF8.self)))
        // No session: the cached page must hold no one's CSRF token.
        let chrome = Chrome(title: "Offline", csrf: "", css: assets.path("app.css"), script: assets.path("app.js"), earlyScript: assets.path("theme.js"),
                            icon: assets.path("icon.svg"), touchIcon: assets.path("icon-192.png"), user: nil, onTasks: false, onSettings: false,
                            onChat: false, onAdmin: false)
        offlinePage = views.render("message", MessagePage(
            chrome: chrome, heading: "You are offline", message: "Todo needs a connection to show your tasks. Nothing you saved is lost: try again once you are back online.",
            linkText: "", linkHref: "", unavailable: true))
    }

    func addRoutes(to router: Router<WebRequestContext>) {
        router.get("manifest.webmanifest") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/manifest+json", .cacheControl: "no-cache"], body: .init(byteBuffer: manifest))
        }
        router.get("sw.js") { _, _ in
            // no-cache: the browser checks for a new worker on every visit instead of a day later.
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: serviceWorker))
        }
        router.get("offline") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: ByteBuffer(string: offlinePage)))
        }
    }

    private static func manifest(_ assets: AssetCatalog) throws -> Data {
        let icons: [[String: String]] = [
            ["src": assets.path("icon.svg"), "sizes": "any", "type": "image/svg+xml"],
            ["src": assets.path("icon-192.png"), "sizes": "192x192", "type": "image/png"],
            ["src": assets.path("icon-512.png"), "sizes": "512x512", "type": "image/png"],
            ["src": assets.path("icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"],
        ]
        let manifest: [String: Any] = [
            "name": "Todo", "short_name": "Todo", "description": "Your tasks, reminders and assistant.",
            "id": "/", "start_url": "/", "scope": "/", "display": "standalone",
            "background_color": "#f7f7fb", "theme_color": "#4f46e5", "icons": icons,
        ]
        return try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
