import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TodoCalendar
import TodoCore
import TodoStore

/// CalDAV (RFC 4791, VTODO only) and WebDAV sync (RFC 6578) under `/dav/`, with
/// `/.well-known/caldav` (RFC 6764) redirecting there. Each user has one calendar, the Inbox:
///
///     /dav/                                    the entry point: current-user-principal
///     /dav/principals/{user_id}/               the principal: calendar-home-set
///     /dav/calendars/{user_id}/                the calendar home
///     /dav/calendars/{user_id}/inbox/          the calendar: every task of the user
///     /dav/calendars/{user_id}/inbox/{name}    one task: `{task_id}.ics`, or the name its client chose
///
/// Changes go through `TaskService`, as the JSON API's do: the same validation, quota, live
/// events, next occurrences of recurring tasks and reminders.
struct CalDAVController<Context: AppRequestContext>: Sendable {
    let accounts: any AccountStore
    let tasks: any TaskStore
    let projects: any ProjectStore
    let events: any EventStore
    let objects: any CalendarObjectStore
    let authenticator: CalDAVAuthenticator
    /// The largest XML request body read (`MAX_BODY_SIZE`): a multiget names many objects.
    let bodyLimit: Int
    let taskLimit: Int
    var service: TaskService { TaskService(tasks: tasks, projects: projects, taskLimit: taskLimit) }

    static var methods: [HTTPRequest.Method] {
        [.options, .get, .head, .put, .delete] + ["PROPFIND", "REPORT", "PROPPATCH"].compactMap { HTTPRequest.Method($0) }
    }

    func addRoutes(to router: Router<Context>) {
        for method in Self.methods {
            router.on("dav", method: method, use: handle)
            router.on("dav/**", method: method, use: handle)
        }
        // Clients given the server's base URL ask it for the principal (the Python caldav
        // library, DAVx5) or try the well-known address (Apple, Thunderbird): both lead here.
        if let propfind = HTTPRequest.Method("PROPFIND") { router.on("/", method: propfind, use: handle) }
        for method in [HTTPRequest.Method.get, .options] + ["PROPFIND"].compactMap({ HTTPRequest.Method($0) }) {
            router.on(".well-known/caldav", method: method) { _, _ in
                Response(status: .movedPermanently, headers: [.location: DAVPath.root.href])
            }
        }
    }

    @Sendable func handle(_ request: Request, context: Context) async throws -> Response {
        if request.method == .options { return Self.options() }
        let userID = try await authenticator.authenticate(request, clientAddress: context.clientAddress)
        guard let path = DAVPath(request.uri.path), path.userID.map({ $0 == userID }) ?? true else {
            throw APIError(.notFound, code: "not_found", message: "no such resource")
        }
        let account = DAVAccount(userID: userID)
        switch request.method.rawValue {
        case "PROPFIND": return try await propfind(request, path: path, account: account)
        case "REPORT": return try await report(request, path: path, account: account)
        case "PROPPATCH": return try await proppatch(request, path: path)
        default: break
        }
        guard case .object(_, let name) = path else {
            throw APIError(.methodNotAllowed, code: "method_not_allowed", message: "collections take PROPFIND and REPORT")
        }
        switch request.method {
        case .get, .head: return try await get(name: name, account: account, withBody: request.method == .get)
        case .put: return try await put(request, name: name, account: account)
        case .delete: return try await delete(request, name: name, account: account)
        default: throw APIError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed on this resource")
        }
    }

    static func options() -> Response {
        var headers: HTTPFields = [.allow: methods.map(\.rawValue).joined(separator: ", ")]
        headers[DAVHeader.dav] = "1, 3, calendar-access"
        return Response(status: .ok, headers: headers)
    }

    // MARK: Objects

    func get(name: String, account: DAVAccount, withBody: Bool) async throws -> Response {
        guard let found = try await resolve(name: name, userID: account.userID) else { throw CalDAV.notFound }
        let document = DAVResource.document(found.task, found.object)
        let headers: HTTPFields = [.contentType: DAVResource.calendarContentType, .eTag: DAVResource.eTag(found.task)]
        return Response(status: .ok, headers: headers, body: withBody ? .init(byteBuffer: ByteBuffer(string: document)) : .init())
    }

    /// Creates or replaces a task. `If-None-Match: *` only creates, `If-Match` only replaces
    /// the version it names: 412 otherwise. The answer carries the ETag only when the stored
    /// object reads back byte for byte as sent (RFC 4791 5.3.4); otherwise clients fetch it again.
    func put(_ request: Request, name: String, account: DAVAccount) async throws -> Response {
        guard DAVPath.isValidName(name) else { throw APIError(.forbidden, code: "invalid_name", message: "not a valid resource name") }
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("text/calendar") {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "a calendar object is text/calendar")
        }
        let text = try await DAVBody.read(request, limit: min(bodyLimit, CalDAV.objectLimit))
        let incoming: CalendarTodo
        do { incoming = try CalendarTodo.read(text) } catch let error as CalendarObjectError { throw Self.apiError(error) }
        let existing = try await resolve(name: name, userID: account.userID)
        let ifMatch = request.headers[.ifMatch]
        if request.headers[.ifNoneMatch]?.trimmingCharacters(in: .whitespaces) == "*", existing != nil { throw CalDAV.preconditionFailed }
        let stored: TodoTask
        if let existing {
            let version = try Self.matchedVersion(ifMatch, task: existing.task)
            stored = try await service.update(id: existing.task.id, userID: account.userID, ifVersion: version) { _ in incoming.fields }
        } else {
            if ifMatch != nil { throw CalDAV.preconditionFailed }
            guard let created = try await tasks.insertTask(incoming.fields, userID: account.userID, at: .now(), limit: taskLimit) else {
                throw APIError.unauthorized("the account no longer exists")
            }
            stored = created
        }
        // A second write after the task's: a sync in between sees the task under its default name
        // until this row exists; the next change of the task corrects it.
        try await objects.saveCalendarObject(
            CalendarObject(
                taskID: stored.id, userID: account.userID, name: name, uid: incoming.uid, todoExtra: incoming.todoExtra,
                calendarExtra: incoming.calendarExtra))
        var headers: HTTPFields = [:]
        let document = CalendarTodo.document(for: stored, uid: incoming.uid, todoExtra: incoming.todoExtra, calendarExtra: incoming.calendarExtra)
        if document == text { headers[.eTag] = DAVResource.eTag(stored) }
        return Response(status: existing == nil ? .created : .noContent, headers: headers)
    }

    func delete(_ request: Request, name: String, account: DAVAccount) async throws -> Response {
        guard let found = try await resolve(name: name, userID: account.userID) else { throw CalDAV.notFound }
        let version = try Self.matchedVersion(request.headers[.ifMatch], task: found.task)
        try await service.delete(id: found.task.id, userID: account.userID, ifVersion: version)
        return Response(status: .noContent)
    }

    /// The task a resource name stands for: a client's own name, or `{id}.ics` of a task that has none.
    func resolve(name: String, userID: UserID) async throws -> (task: TodoTask, object: CalendarObject?)? {
        if let object = try await objects.calendarObject(name: name, userID: userID) {
            guard let task = try await tasks.task(id: object.taskID, userID: userID) else { return nil }
            return (task, object)
        }
        guard name.hasSuffix(".ics"), let id = TaskID(name.dropLast(4)), id > 0, let task = try await tasks.task(id: id, userID: userID) else {
            return nil
        }
        let object = try await objects.calendarObject(taskID: id, userID: userID)
        if let object, object.name != name { return nil }  // the task lives under its client's name
        return (task, object)
    }

    /// The version `If-Match` names: nil without the header or for `*`; 412 for an ETag that is
    /// not the task's current one.
    static func matchedVersion(_ header: String?, task: TodoTask) throws -> Int? {
        guard let header else { return nil }
        let tags = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if tags.contains("*") { return nil }
        guard tags.contains(DAVResource.eTag(task)) else { throw CalDAV.preconditionFailed }
        return task.version
    }

    static func apiError(_ error: CalendarObjectError) -> APIError {
        switch error {
        case .malformed(let reason):
            APIError(.badRequest, code: "invalid_calendar_data", message: reason)
        case .unsupportedComponent(let name):
            APIError(.forbidden, code: "unsupported_calendar_component", message: "this calendar holds tasks (VTODO), not \(name)")
        }
    }
}

/// What the generic controller cannot hold as static stored properties.
enum CalDAV {
    /// The largest calendar object stored. Clients' to-dos are a few kilobytes; what we do not
    /// model is stored as sent, so a task's row stays within this.
    static let objectLimit = 128 * 1024
    static let notFound = APIError(.notFound, code: "not_found", message: "no such calendar object")
    static let preconditionFailed = APIError(
        .preconditionFailed, code: "precondition_failed", message: "the calendar object is not at the version If-Match or If-None-Match names")
}

/// Whose calendar a request works on.
struct DAVAccount: Sendable {
    var userID: UserID
}

enum DAVHeader {
    static let dav = HTTPField.Name("DAV")!
    static let depth = HTTPField.Name("Depth")!
}

/// A path under `/dav/`.
enum DAVPath: Equatable {
    case root
    case principal(UserID)
    case home(UserID)
    case calendar(UserID)
    case object(UserID, String)

    static let calendarName = "inbox"

    init?(_ rawPath: String) {
        var segments = rawPath.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        if segments.isEmpty {  // the server's base URL stands for the entry point
            self = .root
            return
        }
        guard segments.first == "dav" else { return nil }
        segments.removeFirst()
        switch segments.count {
        case 0: self = .root
        case 2 where segments[0] == "principals": self = .principal(segments[1])
        case 2 where segments[0] == "calendars": self = .home(segments[1])
        case 3 where segments[0] == "calendars" && segments[2] == Self.calendarName: self = .calendar(segments[1])
        case 4 where segments[0] == "calendars" && segments[2] == Self.calendarName: self = .object(segments[1], segments[3])
        default: return nil
        }
    }

    var userID: UserID? {
        switch self {
        case .root: nil
        case .principal(let id), .home(let id), .calendar(let id), .object(let id, _): id
        }
    }

    var href: String {
        switch self {
        case .root: "/dav/"
        case .principal(let id): "/dav/principals/\(Self.escaped(id))/"
        case .home(let id): "/dav/calendars/\(Self.escaped(id))/"
        case .calendar(let id): "/dav/calendars/\(Self.escaped(id))/\(Self.calendarName)/"
        case .object(let id, let name): "/dav/calendars/\(Self.escaped(id))/\(Self.calendarName)/\(Self.escaped(name))"
        }
    }

    static func escaped(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/;?#%")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// Names clients choose (`<uuid>.ics`, mostly): no path separators or control characters.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 255 && name != "." && name != ".."
            && !name.unicodeScalars.contains { $0 == "/" || $0 == "\\" || $0.properties.generalCategory == .control }
    }
}

/// Request bodies of CalDAV: UTF-8 text within the limit.
enum DAVBody {
    static func read(_ request: Request, limit: Int) async throws -> String {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw JSONBody.tooLarge(limit) }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError { throw JSONBody.tooLarge(limit) }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw APIError(.badRequest, code: "invalid_encoding", message: "the body must be UTF-8")
        }
        return text
    }

    /// The XML of a PROPFIND or REPORT; nil for an empty body.
    static func xml(_ request: Request, limit: Int) async throws -> DAVElement? {
        let text = try await read(request, limit: limit)
        guard !text.allSatisfy(\.isWhitespace) else { return nil }
        do { return try XMLReader.parse(Array(text.utf8)) } catch {
            throw APIError(.badRequest, code: "invalid_xml", message: "the XML body cannot be read: \(error.message)")
        }
    }
}
