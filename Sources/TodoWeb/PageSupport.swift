import Foundation
import Hummingbird
import TodoClient
import TodoCore
import TodoServer

extension WebRequestContext {
    /// The session's access token; without one the error middleware sends the browser to
    /// the log-in page (and back here afterwards).
    func requireSession() throws -> String {
        guard let sessionToken else { throw WebError.signInRequired }
        return sessionToken
    }

    /// A path parameter naming something by a UUID (or `me`): letters, digits and dashes only,
    /// so that nothing else ever reaches the API's path; anything else is not found.
    func opaqueID(_ name: String) throws -> String {
        guard let id = parameters.get(name), !id.isEmpty, id.count <= 64,
              id.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" })
        else { throw WebError.notFound }
        return id
    }
}

extension Request {
    /// `X-Forwarded-For` for a call to the backend on behalf of this request: the addresses the
    /// request came through, then its peer, so that the backend can tell clients apart (log-in
    /// throttling) although every call comes from this server.
    func forwardedFor(_ context: WebRequestContext) -> String? {
        let chain = [headers[.xForwardedFor], context.clientAddress].compactMap { $0 }.filter { !$0.isEmpty }
        return chain.isEmpty ? nil : chain.joined(separator: ", ")
    }

    /// The browser a log-in or sign-up is made for.
    func browser(_ context: WebRequestContext) -> TodoClient.Browser {
        TodoClient.Browser(forwardedFor: forwardedFor(context), userAgent: headers[.userAgent])
    }
}

enum PageSupport {
    /// This site's address for links that leave the browser (a mail, an invitation, the single
    /// sign-on provider's redirect): `PUBLIC_WEB_URL` when set, else the address the request came
    /// to (`todo serve` on a laptop). No trailing slash.
    static func siteURL(publicURL: String?, _ context: WebRequestContext) -> String {
        let base = publicURL ?? ((context.isSecure ? "https://" : "http://") + (context.authority ?? "localhost"))
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    /// A link the backend gave: a path is on this site.
    static func absolute(_ link: String, publicURL: String?, _ context: WebRequestContext) -> String {
        link.hasPrefix("/") ? siteURL(publicURL: publicURL, context) + link : link
    }

    /// A path on this site to go to after a form, never another site: only a path of printable,
    /// non-space ASCII that parses with no scheme and no host. Browsers drop tabs and newlines
    /// and read `\` as `/`, so `/\t/evil.example` and `/\\evil.example` would leave the site.
    static func localPath(_ candidate: String?, default fallback: String = "/") -> String {
        guard let candidate, candidate.hasPrefix("/"), !candidate.hasPrefix("//"),
              candidate.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\\") }),
              let url = URLComponents(string: candidate), url.scheme == nil, url.host == nil
        else { return fallback }
        return candidate
    }

    /// Whether a script sent the form and wants a JSON answer instead of a redirect.
    static func wantsJSON(_ request: Request) -> Bool {
        request.headers[.accept]?.contains("application/json") ?? false
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An error in the API's shape (`{error: {code, message, details}}`), for scripts.
    static func jsonError(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        json(.object(["error": .object(["code": .string(code), "message": .string(message), "details": .array([])])]), status: status)
    }

    /// The time zone a form names (`tz`, filled in by the page's script), else the cookie's.
    static func timeZone(_ form: FormData, _ context: WebRequestContext) -> TimeZone {
        form.text("tz").flatMap(TimeZone.init(identifier:)) ?? context.timeZone
    }

    static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The messages of a validation error, one per field, for the top of a form.
    static func messages(_ issues: [FieldIssue], message: String) -> [String] {
        let labels = ["title": "Title", "description": "Description", "tags": "Tags", "due_at": "Due", "remind_at": "Reminder",
                      "recurrence": "Repeat", "priority": "Priority", "email": "E-mail", "password": "Password", "name": "Name"]
        guard !issues.isEmpty else { return [message.prefix(1).uppercased() + message.dropFirst()] }
        return issues.map { issue in
            let field = issue.field.split(separator: ".").first.map(String.init) ?? issue.field
            return "\(labels[field] ?? issue.field.capitalized) \(issue.message)."
        }
    }
}
