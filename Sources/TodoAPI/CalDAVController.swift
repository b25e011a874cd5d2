import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TodoCalendar
import TodoCore
import TodoStore

/// CalDAV (RFC 4791, VTODO only) and WebDAV sync (RFC 6578) under `/dav/`, with
/// `/.well-known/caldav` (RFC 6764) redirecting there. Each project the user is a member of and
/// which is not archived is a calendar:
///
///     /dav/                                         the entry point: current-user-principal
///     /dav/principals/{user_id}/                    the principal: calendar-home-set
///     /dav/calendars/{user_id}/                     the calendar home: one calendar per project
///     /dav/calendars/{user_id}/inbox/               the user's Inbox
///     /dav/calendars/{user_id}/{project_id}/        any other project: its tasks
///     /dav/calendars/{user_id}/{calendar}/{name}    one task: `{task_id}.ics`, or the name its client chose
///
/// Access is the project's: a viewer reads, an editor or owner also writes, anyone else finds
/// nothing (404). A sub-task names its parent with `RELATED-TO;RELTYPE=PARENT`. Changes go
/// through `TaskService`, as the JSON API's do: the same validation, quota, access checks in
/// the statements, live events, next occurrences of recurring tasks and reminders.
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
        var calendar: DAVCalendar?
        if let name = path.calendarName { calendar = try await self.calendar(name, userID: userID) }
        switch request.method.rawValue {
        case "PROPFIND": return try await propfind(request, path: path, userID: userID, calendar: calendar)
        case "REPORT": return try await report(request, path: path, calendar: calendar)
        case "PROPPATCH": return try await proppatch(request, path: path)
        default: break
        }
        guard case .object(_, _, let name) = path, let calendar else {
            throw APIError(.methodNotAllowed, code: "method_not_allowed", message: "collections take PROPFIND and REPORT")
        }
        switch request.method {
        case .get, .head: return try await get(name: name, in: calendar, withBody: request.method == .get)
        case .put: return try await put(request, name: name, in: calendar)
        case .delete: return try await delete(request, name: name, in: calendar)
        default: throw APIError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed on this resource")
        }
    }

    /// The calendar a path names, as `userID` sees it: 404 for a project they are not a member
    /// of, an archived one, or their Inbox under its number (it is `inbox`).
    func calendar(_ name: CalendarName, userID: UserID) async throws -> DAVCalendar {
        let project: Project? =
            switch name {
            case .inbox: try await projects.projects(userID: userID, at: .now()).first(where: DAVCalendar.isOwnInbox)
            case .project(let id): try await projects.project(id: id, userID: userID, at: .now()).flatMap { DAVCalendar.isOwnInbox($0) ? nil : $0 }
            }
        guard let project, !project.archived else { throw APIError(.notFound, code: "not_found", message: "no such calendar") }
        return DAVCalendar(userID: userID, project: project, objects: try await objects.calendarObjects(userID: userID))
    }

    static func options() -> Response {
        var headers: HTTPFields = [.allow: methods.map(\.rawValue).joined(separator: ", ")]
        headers[DAVHeader.dav] = "1, 3, calendar-access"
        return Response(status: .ok, headers: headers)
    }

    // MARK: Objects

    func get(name: String, in calendar: DAVCalendar, withBody: Bool) async throws -> Response {
        guard let found = try await resolve(name: name, in: calendar) else { throw CalDAV.notFound }
        let document = calendar.document(found)
        let headers: HTTPFields = [.contentType: DAVResource.calendarContentType, .eTag: DAVResource.eTag(found)]
        return Response(status: .ok, headers: headers, body: withBody ? .init(byteBuffer: ByteBuffer(string: document)) : .init())
    }

    /// Creates or replaces a task. `If-None-Match: *` only creates, `If-Match` only replaces
    /// the version it names: 412 otherwise. The answer carries the ETag only when the stored
    /// object reads back byte for byte as sent (RFC 4791 5.3.4); otherwise clients fetch it again.
    /// A new object becomes a task of the calendar's project, unless its UID is that of a task in
    /// another calendar: clients move a to-do by a PUT in the new calendar and a DELETE in the old
    /// (which then finds nothing), so the task moves. `RELATED-TO` places it under its parent.
    func put(_ request: Request, name: String, in calendar: DAVCalendar) async throws -> Response {
        guard calendar.project.role.writesTasks else { throw APIError.readOnlyProject }
        guard DAVPath.isValidName(name) else { throw APIError(.forbidden, code: "invalid_name", message: "not a valid resource name") }
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("text/calendar") {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "a calendar object is text/calendar")
        }
        let text = try await DAVBody.read(request, limit: min(bodyLimit, CalDAV.objectLimit))
        let incoming: CalendarTodo
        do { incoming = try CalendarTodo.read(text) } catch let error as CalendarObjectError { throw Self.apiError(error) }
        let existing = try await resolve(name: name, in: calendar)
        let ifMatch = request.headers[.ifMatch]
        if request.headers[.ifNoneMatch]?.trimmingCharacters(in: .whitespaces) == "*", existing != nil { throw CalDAV.preconditionFailed }
        var placement = TaskPatch()
        placement.parentID = .some(try await parentID(incoming.parentUID, in: calendar))
        let stored: TodoTask
        if let existing {
            let version = try Self.matchedVersion(ifMatch, task: existing)
            stored = try await service.update(id: existing.id, userID: calendar.userID, ifVersion: version, placement: placement) { _ in
                incoming.fields
            }
        } else {
            if ifMatch != nil { throw CalDAV.preconditionFailed }
            placement.projectID = calendar.project.id
            if let moved = try await elsewhere(uid: incoming.uid, in: calendar) {
                stored = try await service.update(id: moved.id, userID: calendar.userID, ifVersion: nil, placement: placement) { _ in incoming.fields }
            } else {
                stored = try await service.create(incoming.fields, placement: placement, userID: calendar.userID)
            }
        }
        // A second write after the task's: a sync in between sees the task under its default name
        // until this row exists; the next change of the task corrects it.
        try await objects.saveCalendarObject(
            CalendarObject(
                taskID: stored.id, userID: calendar.userID, name: name, uid: incoming.uid, todoExtra: incoming.todoExtra,
                calendarExtra: incoming.calendarExtra))
        var headers: HTTPFields = [:]
        let document = CalendarTodo.document(
            for: stored, uid: incoming.uid, parentUID: incoming.parentUID, todoExtra: incoming.todoExtra, calendarExtra: incoming.calendarExtra)
        if document == text { headers[.eTag] = DAVResource.eTag(stored) }
        return Response(status: existing == nil ? .created : .noContent, headers: headers)
    }

    func delete(_ request: Request, name: String, in calendar: DAVCalendar) async throws -> Response {
        guard calendar.project.role.writesTasks else { throw APIError.readOnlyProject }
        guard let found = try await resolve(name: name, in: calendar) else { throw CalDAV.notFound }
        let version = try Self.matchedVersion(request.headers[.ifMatch], task: found)
        try await service.delete(id: found.id, userID: calendar.userID, ifVersion: version)
        return Response(status: .noContent)
    }

    /// The task of the calendar a resource name stands for: a client's own name, or `{id}.ics`
    /// of a task that has none.
    func resolve(name: String, in calendar: DAVCalendar) async throws -> TodoTask? {
        guard let id = calendar.taskID(name: name), let task = try await tasks.task(id: id, userID: calendar.userID),
            task.projectID == calendar.project.id
        else { return nil }
        return task
    }

    /// The task of another of the user's calendars with this UID, if any.
    func elsewhere(uid: String, in calendar: DAVCalendar) async throws -> TodoTask? {
        guard let id = calendar.taskID(uid: uid), let task = try await tasks.task(id: id, userID: calendar.userID),
            task.projectID != calendar.project.id
        else { return nil }
        return task
    }

    /// The task a `RELATED-TO` names as parent: one of the calendar's, by its UID. Nesting and
    /// cycles are `TaskService`'s to check.
    func parentID(_ uid: String?, in calendar: DAVCalendar) async throws -> TaskID? {
        guard let uid else { return nil }
        guard let id = calendar.taskID(uid: uid), let parent = try await tasks.task(id: id, userID: calendar.userID),
            parent.projectID == calendar.project.id
        else { throw ValidationError(field: "RELATED-TO", "must name the UID of a task in this calendar") }
        return parent.id
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

/// A project's calendar as one member sees it, with the objects that member's clients stored
/// (deleted tasks' too: a sync names them).
struct DAVCalendar: Sendable {
    let userID: UserID
    let project: Project
    let objects: [TaskID: CalendarObject]
    private let byName: [String: TaskID]
    private let byUID: [String: TaskID]

    init(userID: UserID, project: Project, objects: [CalendarObject]) {
        self.userID = userID
        self.project = project
        self.objects = Dictionary(objects.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        byName = Dictionary(objects.map { ($0.name, $0.taskID) }, uniquingKeysWith: { first, _ in first })
        byUID = Dictionary(objects.map { ($0.uid, $0.taskID) }, uniquingKeysWith: { first, _ in first })
    }

    /// The user's own Inbox is `inbox`; a shared project (even another's Inbox) goes by its id.
    static func isOwnInbox(_ project: Project) -> Bool { project.isInbox && project.role == .owner }

    var name: CalendarName { Self.isOwnInbox(project) ? .inbox : .project(project.id) }

    /// The task a resource name stands for: a client's own name, or `{id}.ics` of a task whose
    /// client has not named it otherwise.
    func taskID(name: String) -> TaskID? {
        if let id = byName[name] { return id }
        guard name.hasSuffix(".ics"), let id = TaskID(name.dropLast(4)), id > 0, objects[id] == nil else { return nil }
        return id
    }

    func taskID(uid: String) -> TaskID? {
        if let id = byUID[uid] { return id }
        guard uid.hasPrefix("task-"), uid.hasSuffix("@todo"), let id = TaskID(uid.dropFirst(5).dropLast(5)), id > 0, objects[id] == nil else {
            return nil
        }
        return id
    }

    func uid(of id: TaskID) -> String { objects[id]?.uid ?? CalendarTodo.defaultUID(for: id) }

    func href(of id: TaskID) -> String { DAVPath.object(userID, name, objects[id]?.name ?? "\(id).ics").href }

    /// The calendar object of a task, with what its client stored beside it.
    func document(_ task: TodoTask) -> String {
        let object = objects[task.id]
        return CalendarTodo.document(
            for: task, uid: uid(of: task.id), parentUID: task.parentID.map(uid(of:)), todoExtra: object?.todoExtra ?? "",
            calendarExtra: object?.calendarExtra ?? "")
    }
}

/// A calendar's segment of its path: the user's Inbox is `inbox`, any other project its id.
enum CalendarName: Equatable, Sendable {
    case inbox
    case project(ProjectID)

    init?(_ segment: String) {
        if segment == "inbox" {
            self = .inbox
        } else if let id = ProjectID(segment), id > 0, String(id) == segment {
            self = .project(id)
        } else {
            return nil
        }
    }

    var segment: String {
        switch self {
        case .inbox: "inbox"
        case .project(let id): String(id)
        }
    }
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
    case calendar(UserID, CalendarName)
    case object(UserID, CalendarName, String)

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
        case 3 where segments[0] == "calendars":
            guard let name = CalendarName(segments[2]) else { return nil }
            self = .calendar(segments[1], name)
        case 4 where segments[0] == "calendars":
            guard let name = CalendarName(segments[2]) else { return nil }
            self = .object(segments[1], name, segments[3])
        default: return nil
        }
    }

    var userID: UserID? {
        switch self {
        case .root: nil
        case .principal(let id), .home(let id), .calendar(let id, _), .object(let id, _, _): id
        }
    }

    var calendarName: CalendarName? {
        switch self {
        case .calendar(_, let name), .object(_, let name, _): name
        default: nil
        }
    }

    var href: String {
        switch self {
        case .root: "/dav/"
        case .principal(let id): "/dav/principals/\(Self.escaped(id))/"
        case .home(let id): "/dav/calendars/\(Self.escaped(id))/"
        case .calendar(let id, let calendar): "/dav/calendars/\(Self.escaped(id))/\(calendar.segment)/"
        case .object(let id, let calendar, let name): "/dav/calendars/\(Self.escaped(id))/\(calendar.segment)/\(Self.escaped(name))"
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
