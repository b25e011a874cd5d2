import Foundation
import Hummingbird
import Mustache
import TodoCore

/// The templates (embedded in the binary) and the pieces every page shares.
struct Views: Sendable {
    let library: MustacheLibrary
    let assets: AssetCatalog

    init(assets: AssetCatalog) throws {
        var library = MustacheLibrary()
        for (name, bytes) in EmbeddedFiles.templates {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        self.library = library
        self.assets = assets
    }

    func render(_ template: String, _ model: Any) -> String {
        library.render(model, withTemplate: template) ?? ""
    }

    /// A whole page: HTML that is never cached (it carries the user's data and a CSRF token).
    func page(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok) -> Response {
        html(render(template, model), status: status)
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// What the layout needs on every page.
    func chrome(_ context: WebRequestContext, title: String, user: User? = nil, section: String = "") -> Chrome {
        Chrome(
            title: title, csrf: context.csrfToken, css: assets.path("app.css"), script: assets.path("app.js"),
            earlyScript: assets.path("theme.js"), icon: assets.path("icon.svg"), pushWorker: assets.path("push-worker.js"),
            user: user.map {
                UserBadge(email: $0.email, name: $0.name ?? $0.email, initial: String(($0.name ?? $0.email).prefix(1)).uppercased(), admin: $0.admin)
            },
            onTasks: section == "tasks", onSettings: section == "settings", onChat: section == "chat", onAdmin: section == "admin")
    }
}

struct Chrome {
    var title: String
    var csrf: String
    var css: String
    var script: String
    var earlyScript: String
    var icon: String
    /// The service worker that shows Web Push reminders (Settings registers it).
    var pushWorker: String
    var user: UserBadge?
    var onTasks: Bool
    var onSettings: Bool
    var onChat: Bool
    var onAdmin: Bool
}

struct UserBadge {
    var email: String
    var name: String
    var initial: String
    var admin: Bool
}

/// A simple page: a heading, a message and a way on.
struct MessagePage {
    var chrome: Chrome
    var heading: String
    var message: String
    var linkText: String
    var linkHref: String
    var unavailable: Bool
}
