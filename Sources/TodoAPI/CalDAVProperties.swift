import Foundation
import Hummingbird
import NIOCore
import TodoCalendar
import TodoCore
import TodoStore

enum DAVNamespace {
    static let dav = "DAV:"
    static let caldav = "urn:ietf:params:xml:ns:caldav"
    static let calendarServer = "http://calendarserver.org/ns/"
    static let apple = "http://apple.com/ns/ical/"
    static let prefixes = [dav: "d", caldav: "c", calendarServer: "cs", apple: "a"]
    static let declarations = prefixes.sorted { $0.value < $1.value }.map { " xmlns:\($0.value)=\"\($0.key)\"" }.joined()
}

/// A WebDAV property, named by namespace and local name.
struct PropertyName: Hashable, Sendable {
    var namespace: String
    var name: String

    init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    static func dav(_ name: String) -> PropertyName { PropertyName(DAVNamespace.dav, name) }
    static func caldav(_ name: String) -> PropertyName { PropertyName(DAVNamespace.caldav, name) }

    /// The property as an element holding `inner` (markup, already escaped).
    func element(_ inner: String) -> String {
        if let prefix = DAVNamespace.prefixes[namespace] {
            return inner.isEmpty ? "<\(prefix):\(name)/>" : "<\(prefix):\(name)>\(inner)</\(prefix):\(name)>"
        }
        let open = "<\(name) xmlns=\"\(XMLWriter.escaped(namespace))\""
        return inner.isEmpty ? open + "/>" : open + ">\(inner)</\(name)>"
    }
}

/// What a PROPFIND or REPORT asks for: named properties, or all (`allprop`, `propname`, no body).
enum PropertyRequest {
    case all
    case named([PropertyName])

    init(_ parent: DAVElement?) {
        guard let parent, let prop = parent.child(DAVNamespace.dav, "prop") else {
            self = .all
            return
        }
        self = .named(prop.children.map { PropertyName($0.namespace, $0.name) })
    }

    var wantsCalendarData: Bool {
        if case .named(let names) = self { return names.contains(.caldav("calendar-data")) }
        return false
    }
}

/// A resource's properties as markup, answered for a request in a `<d:response>`.
struct DAVResource {
    var href: String
    var properties: [PropertyName: String]

    static let calendarContentType = "text/calendar; charset=utf-8; component=VTODO"

    /// Strong: the task and its version, so a task deleted and made again under the same name never matches.
    static func eTag(_ task: TodoTask) -> String { "\"\(task.id)-\(task.version)\"" }

    static func href(_ target: String) -> String { "<d:href>\(XMLWriter.escaped(target))</d:href>" }

    static func root(userID: UserID, href target: String) -> DAVResource {
        DAVResource(href: target, properties: [
            .dav("resourcetype"): "<d:collection/>",
            .dav("current-user-principal"): href(DAVPath.principal(userID).href),
            .dav("displayname"): "todo",
        ])
    }

    static func principal(_ user: User) -> DAVResource {
        DAVResource(href: DAVPath.principal(user.id).href, properties: [
            .dav("resourcetype"): "<d:principal/>",
            .dav("current-user-principal"): href(DAVPath.principal(user.id).href),
            .dav("principal-URL"): href(DAVPath.principal(user.id).href),
            .dav("displayname"): XMLWriter.escaped(user.name ?? user.email),
            .caldav("calendar-home-set"): href(DAVPath.home(user.id).href),
            .caldav("calendar-user-address-set"): href("mailto:" + user.email),
        ])
    }

    static func home(userID: UserID) -> DAVResource {
        DAVResource(href: DAVPath.home(userID).href, properties: [
            .dav("resourcetype"): "<d:collection/>",
            .dav("current-user-principal"): href(DAVPath.principal(userID).href),
            .dav("owner"): href(DAVPath.principal(userID).href),
            .dav("displayname"): "Calendars",
        ])
    }

    /// A project's calendar: its name and colour; a viewer's privileges are to read only.
    static func calendar(_ calendar: DAVCalendar, syncToken: String, maximumSize: Int) -> DAVResource {
        let userID = calendar.userID
        let writes = ["write", "write-content", "write-properties", "bind", "unbind"]
        let privileges = ["read", "read-current-user-privilege-set"] + (calendar.project.role.writesTasks ? writes : [])
        let reports = ["c:calendar-query", "c:calendar-multiget", "d:sync-collection"]
        return DAVResource(href: DAVPath.calendar(userID, calendar.name).href, properties: [
            .dav("resourcetype"): "<d:collection/><c:calendar/>",
            .dav("displayname"): XMLWriter.escaped(calendar.project.name),
            .dav("current-user-principal"): href(DAVPath.principal(userID).href),
            .dav("owner"): href(DAVPath.principal(userID).href),
            .dav("sync-token"): XMLWriter.escaped(syncToken),
            .dav("current-user-privilege-set"): privileges.map { "<d:privilege><d:\($0)/></d:privilege>" }.joined(),
            .dav("supported-report-set"): reports.map { "<d:supported-report><d:report><\($0)/></d:report></d:supported-report>" }.joined(),
            .caldav("calendar-description"): "Tasks",
            .caldav("supported-calendar-component-set"): "<c:comp name=\"VTODO\"/>",
            .caldav("supported-calendar-data"): "<c:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>",
            .caldav("max-resource-size"): String(maximumSize),
            PropertyName(DAVNamespace.calendarServer, "getctag"): XMLWriter.escaped(syncToken),
            PropertyName(DAVNamespace.apple, "calendar-color"): color(calendar.project.color),
            PropertyName(DAVNamespace.apple, "calendar-order"): String(Int(max(0, min(calendar.project.position, 1e15)))),
        ])
    }

    /// Apple's `#RRGGBBAA` of a project's `#rrggbb`; the default colour for none.
    static func color(_ color: String?) -> String {
        guard let color else { return "#2563EBFF" }
        return color.uppercased() + "FF"
    }

    static func object(_ task: TodoTask, in calendar: DAVCalendar, withData: Bool) -> DAVResource {
        object(task, in: calendar, document: withData ? calendar.document(task) : nil)
    }

    static func object(_ task: TodoTask, in calendar: DAVCalendar, document: String?) -> DAVResource {
        var properties: [PropertyName: String] = [
            .dav("getetag"): XMLWriter.escaped(eTag(task)),
            .dav("getcontenttype"): calendarContentType,
            .dav("resourcetype"): "",
        ]
        if let document { properties[.caldav("calendar-data")] = XMLWriter.escaped(document) }
        return DAVResource(href: calendar.href(of: task.id), properties: properties)
    }

    /// `<d:response>` with the found properties (200) and the missing ones (404).
    func response(for request: PropertyRequest) -> String {
        var found: [String] = []
        var missing: [String] = []
        switch request {
        case .all:
            found = properties.filter { $0.key != .caldav("calendar-data") }.sorted { $0.key.name < $1.key.name }.map { $0.key.element($0.value) }
        case .named(let names):
            for name in names {
                if let value = properties[name] { found.append(name.element(value)) } else { missing.append(name.element("")) }
            }
        }
        var text = "<d:response>" + Self.href(href)
        if !found.isEmpty { text += "<d:propstat><d:prop>" + found.joined() + "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>" }
        if !missing.isEmpty {
            text += "<d:propstat><d:prop>" + missing.joined() + "</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>"
        }
        return text + "</d:response>"
    }
}

/// A 207 Multi-Status answer.
struct Multistatus {
    private var writer = XMLWriter()

    init() {
        writer.open("d:multistatus", attributes: DAVNamespace.declarations)
    }

    mutating func add(_ resource: DAVResource, for request: PropertyRequest) {
        writer.markup(resource.response(for: request))
    }

    /// A resource that is gone (in a sync report) or was never there (in a multiget).
    mutating func notFound(_ href: String) {
        writer.markup("<d:response>" + DAVResource.href(href) + "<d:status>HTTP/1.1 404 Not Found</d:status></d:response>")
    }

    mutating func markup(_ fragment: String) {
        writer.markup(fragment)
    }

    func response(syncToken: String? = nil) -> Response {
        var copy = writer
        if let syncToken { copy.element("d:sync-token", syncToken) }
        copy.close("d:multistatus")
        return Response(
            status: .init(code: 207, reasonPhrase: "Multi-Status"), headers: [.contentType: "application/xml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: copy.text)))
    }
}

extension CalDAVController {
    func propfind(_ request: Request, path: DAVPath, userID: UserID, calendar: DAVCalendar?) async throws -> Response {
        let wanted = PropertyRequest(try await DAVBody.xml(request, limit: bodyLimit))
        let deep = (request.headers[DAVHeader.depth] ?? "infinity").trimmingCharacters(in: .whitespaces) != "0"
        var answer = Multistatus()
        switch (path, calendar) {
        case (.root, _):
            answer.add(.root(userID: userID, href: request.uri.path == "/" ? "/" : DAVPath.root.href), for: wanted)
            if deep {
                answer.add(.principal(try await user(userID)), for: wanted)
                answer.add(.home(userID: userID), for: wanted)
            }
        case (.principal, _):
            answer.add(.principal(try await user(userID)), for: wanted)
        case (.home, _):
            answer.add(.home(userID: userID), for: wanted)
            if deep {
                let objects = try await self.objects.calendarObjects(userID: userID)
                for project in try await projects.projects(userID: userID, at: .now()) where !project.archived {
                    answer.add(try await resource(DAVCalendar(userID: userID, project: project, objects: objects)), for: wanted)
                }
            }
        case (.calendar, let calendar?):
            answer.add(try await resource(calendar), for: wanted)
            if deep {
                for task in try await listing(calendar) { answer.add(.object(task, in: calendar, withData: wanted.wantsCalendarData), for: wanted) }
            }
        case (.object(_, _, let name), let calendar?):
            guard let found = try await resolve(name: name, in: calendar) else { throw CalDAV.notFound }
            answer.add(.object(found, in: calendar, withData: wanted.wantsCalendarData), for: wanted)
        default:
            throw CalDAV.notFound
        }
        return answer.response()
    }

    /// Clients set a calendar's name and colour; ours are fixed, so each change is refused
    /// (403 per property, RFC 4918 9.2) and the client keeps its own.
    func proppatch(_ request: Request, path: DAVPath) async throws -> Response {
        let body = try await DAVBody.xml(request, limit: bodyLimit)
        let names = (body?.children ?? []).flatMap { $0.child(DAVNamespace.dav, "prop")?.children ?? [] }.map { PropertyName($0.namespace, $0.name) }
        var answer = Multistatus()
        answer.markup(
            "<d:response>" + DAVResource.href(path.href) + "<d:propstat><d:prop>" + names.map { $0.element("") }.joined()
                + "</d:prop><d:status>HTTP/1.1 403 Forbidden</d:status></d:propstat></d:response>")
        return answer.response()
    }

    func user(_ userID: UserID) async throws -> User {
        guard let user = try await accounts.user(id: userID) else { throw APIError.unauthorized("the account no longer exists") }
        return user
    }

    func resource(_ calendar: DAVCalendar) async throws -> DAVResource {
        let token = SyncToken.text(projectID: calendar.project.id, eventID: try await events.latestEventID(projectID: calendar.project.id))
        return .calendar(calendar, syncToken: token, maximumSize: min(bodyLimit, CalDAV.objectLimit))
    }

    /// Every task of the calendar's project, oldest first, read page by page.
    func listing(_ calendar: DAVCalendar) async throws -> [TodoTask] {
        var query = TaskQuery()
        query.project = calendar.project.id
        query.sort = .init(field: .created, descending: false)
        query.limit = 1000
        var found: [TodoTask] = []
        repeat {
            let page = try await tasks.listTasks(userID: calendar.userID, query: query)
            found += page.items
            query.cursor = page.nextCursor
        } while query.cursor != nil
        return found
    }
}

/// Sync tokens (RFC 6578) are URIs; ours name the calendar's project and the id of the newest
/// event of it seen. Tokens of the time of one calendar per user (no project) are no longer valid.
enum SyncToken {
    static let prefix = "http://todo.invalid/ns/sync/project/"

    static func text(projectID: ProjectID, eventID: Int64) -> String { prefix + "\(projectID)/\(eventID)" }

    /// The event id of a token of this project's calendar; nil for any other token.
    static func eventID(_ token: String, projectID: ProjectID) -> Int64? {
        guard token.hasPrefix(prefix) else { return nil }
        let parts = token.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, ProjectID(parts[0]) == projectID, let id = Int64(parts[1]), id >= 0 else { return nil }
        return id
    }
}
