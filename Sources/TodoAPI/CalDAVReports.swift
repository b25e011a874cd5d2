import Foundation
import Hummingbird
import NIOCore
import TodoCalendar
import TodoCore
import TodoStore

/// REPORT: `calendar-query` and `calendar-multiget` (RFC 4791 7.8, 7.9) and `sync-collection`
/// (RFC 6578) on a calendar.
extension CalDAVController {
    func report(_ request: Request, path: DAVPath, calendar: DAVCalendar?) async throws -> Response {
        guard let body = try await DAVBody.xml(request, limit: bodyLimit) else {
            throw APIError(.badRequest, code: "invalid_xml", message: "a REPORT needs an XML body")
        }
        guard case .calendar = path, let calendar else {
            throw APIError(.forbidden, code: "unsupported_report", message: "reports run on a calendar collection")
        }
        let wanted = PropertyRequest(body)
        if body.is(DAVNamespace.caldav, "calendar-query") {
            return try await calendarQuery(body, wanted: wanted, in: calendar)
        } else if body.is(DAVNamespace.caldav, "calendar-multiget") {
            return try await multiget(body, wanted: wanted, in: calendar)
        } else if body.is(DAVNamespace.dav, "sync-collection") {
            return try await syncCollection(body, wanted: wanted, in: calendar)
        }
        throw APIError(.forbidden, code: "unsupported_report", message: "supported reports: calendar-query, calendar-multiget, sync-collection")
    }

    /// Every task whose VTODO passes the filter. The filter is applied to the object as a client
    /// would read it, so it sees the client's own properties too.
    func calendarQuery(_ body: DAVElement, wanted: PropertyRequest, in calendar: DAVCalendar) async throws -> Response {
        let filter = body.child(DAVNamespace.caldav, "filter")?.child(DAVNamespace.caldav, "comp-filter")
        // Clients' full syncs ask for every VTODO: that filter is passed without reading each object.
        let filters = filter.map { !CalendarFilter.matchesEveryTodo($0) } ?? false
        var answer = Multistatus()
        for task in try await listing(calendar) {
            if filters, let filter {
                let document = calendar.document(task)
                guard let parsed = try? ICalendarParser.parse(document), CalendarFilter.matches(filter, candidates: [parsed]) else { continue }
                answer.add(.object(task, in: calendar, document: wanted.wantsCalendarData ? document : nil), for: wanted)
            } else {
                answer.add(.object(task, in: calendar, withData: wanted.wantsCalendarData), for: wanted)
            }
        }
        return answer.response()
    }

    func multiget(_ body: DAVElement, wanted: PropertyRequest, in calendar: DAVCalendar) async throws -> Response {
        var answer = Multistatus()
        for href in body.children(DAVNamespace.dav, "href") {
            let target = href.text.trimmingCharacters(in: .whitespacesAndNewlines)
            let path = URLComponents(string: target)?.path ?? target
            guard case .object(let owner, let name, let object)? = DAVPath(path), owner == calendar.userID, name == calendar.name,
                let found = try await resolve(name: object, in: calendar)
            else {
                answer.notFound(target)
                continue
            }
            answer.add(.object(found, in: calendar, withData: wanted.wantsCalendarData), for: wanted)
        }
        return answer.response()
    }

    /// Without a token: every object and the current token. With one: the objects changed since,
    /// read from the project's events (whoever made the change), and a 404 for each deleted one
    /// or moved to another project. A token older than the oldest event kept (`EVENT_RETENTION`)
    /// could miss deletions, and one of another calendar names other events: 403
    /// `valid-sync-token`, and the client starts over.
    func syncCollection(_ body: DAVElement, wanted: PropertyRequest, in calendar: DAVCalendar) async throws -> Response {
        let presented = body.child(DAVNamespace.dav, "sync-token")?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let projectID = calendar.project.id
        var answer = Multistatus()
        guard !presented.isEmpty else {
            let token = try await events.latestEventID(projectID: projectID)
            for task in try await listing(calendar) { answer.add(.object(task, in: calendar, withData: wanted.wantsCalendarData), for: wanted) }
            return answer.response(syncToken: SyncToken.text(projectID: projectID, eventID: token))
        }
        guard let since = SyncToken.eventID(presented, projectID: projectID), try await isValid(since) else {
            return Self.davError(.forbidden, condition: "<d:valid-sync-token/>")
        }
        var changed: [TaskID] = []
        var seen: Set<TaskID> = []
        var latest = since
        while true {
            let page = try await events.events(projectID: projectID, after: latest, limit: 1000)
            // A fired reminder changes nothing a client sees.
            for event in page where event.kind != .reminderDue && seen.insert(event.taskID).inserted { changed.append(event.taskID) }
            guard let last = page.last else { break }
            latest = last.id
        }
        // Past a few dozen changes, one read of every task is cheaper than a read per change.
        let current: [TaskID: TodoTask]? =
            changed.count > 50 ? Dictionary(try await listing(calendar).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }) : nil
        for id in changed {
            let task = if let current { current[id] } else { try await tasks.task(id: id, userID: calendar.userID) }
            if let task, task.projectID == projectID {
                answer.add(.object(task, in: calendar, withData: wanted.wantsCalendarData), for: wanted)
            } else {
                answer.notFound(calendar.href(of: id))
            }
        }
        return answer.response(syncToken: SyncToken.text(projectID: projectID, eventID: latest))
    }

    /// Whether every event after `since` is still in the log.
    private func isValid(_ since: Int64) async throws -> Bool {
        guard since <= (try await events.latestEventID()) else { return false }
        guard let oldest = try await events.oldestEventID() else { return true }
        return since >= oldest - 1
    }

    /// A failed WebDAV precondition, as clients parse it (RFC 4918 16).
    static func davError(_ status: HTTPResponse.Status, condition: String) -> Response {
        var writer = XMLWriter()
        writer.open("d:error", attributes: DAVNamespace.declarations)
        writer.markup(condition)
        writer.close("d:error")
        return Response(status: status, headers: [.contentType: "application/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: writer.text)))
    }
}

/// CalDAV's filters (RFC 4791 9.7) on parsed calendar objects: comp-filter, prop-filter,
/// is-not-defined, text-match (substring, case-insensitive: i;ascii-casemap) and time-range on
/// VTODO (9.9) and on date properties. Parameter filters are not applied (they match).
enum CalendarFilter {
    /// `VCALENDAR` holding `VTODO` with no further condition: true of every object here.
    static func matchesEveryTodo(_ filter: DAVElement) -> Bool {
        guard filter.attributes["name"]?.uppercased() == "VCALENDAR", filter.children.count == 1, let todo = filter.children.first else { return false }
        return todo.is(DAVNamespace.caldav, "comp-filter") && todo.attributes["name"]?.uppercased() == "VTODO" && todo.children.isEmpty
    }

    static func matches(_ filter: DAVElement, candidates: [ICalendarComponent]) -> Bool {
        let name = filter.attributes["name"]?.uppercased() ?? ""
        let found = candidates.filter { $0.name == name }
        if filter.child(DAVNamespace.caldav, "is-not-defined") != nil { return found.isEmpty }
        return found.contains { component in
            if let range = filter.child(DAVNamespace.caldav, "time-range"), component.name == "VTODO", !todo(component, overlaps: range) { return false }
            for propertyFilter in filter.children(DAVNamespace.caldav, "prop-filter") where !matches(propertyFilter, in: component) { return false }
            for componentFilter in filter.children(DAVNamespace.caldav, "comp-filter") where !matches(componentFilter, candidates: component.components) {
                return false
            }
            return true
        }
    }

    static func matches(_ filter: DAVElement, in component: ICalendarComponent) -> Bool {
        let name = filter.attributes["name"]?.uppercased() ?? ""
        let properties = component.properties.filter { $0.name == name }
        if filter.child(DAVNamespace.caldav, "is-not-defined") != nil { return properties.isEmpty }
        return properties.contains { property in
            if let range = filter.child(DAVNamespace.caldav, "time-range") {
                guard let instant = property.instant, let (start, end) = bounds(range), start <= instant, instant < end else { return false }
            }
            if let match = filter.child(DAVNamespace.caldav, "text-match") {
                let found = property.text.range(of: match.text, options: .caseInsensitive) != nil
                return match.attributes["negate-condition"] == "yes" ? !found : found
            }
            return true
        }
    }

    /// RFC 4791 9.9 for a VTODO with DUE, COMPLETED and CREATED (ours always has CREATED; a
    /// client's DTSTART counts as the start).
    static func todo(_ todo: ICalendarComponent, overlaps range: DAVElement) -> Bool {
        guard let (start, end) = bounds(range) else { return true }
        let dtstart = todo.property("DTSTART")?.instant
        let due = todo.property("DUE")?.instant
        let completed = todo.property("COMPLETED")?.instant
        let created = todo.property("CREATED")?.instant
        switch (dtstart, due, completed, created) {
        case (let dtstart?, let due?, _, _): return (start < due || start <= dtstart) && (end > dtstart || end >= due)
        case (let dtstart?, nil, _, _): return start <= dtstart && end > dtstart
        case (nil, let due?, _, _): return start < due && end >= due
        case (nil, nil, let completed?, let created?):
            return (start <= created || start <= completed) && (end >= created || end >= completed)
        case (nil, nil, let completed?, nil): return start <= completed && end >= completed
        case (nil, nil, nil, let created?): return end > created
        case (nil, nil, nil, nil): return true
        }
    }

    static func bounds(_ range: DAVElement) -> (Timestamp, Timestamp)? {
        let start = range.attributes["start"].map(ICalendarParser.instant) ?? Timestamp.earliest
        let end = range.attributes["end"].map(ICalendarParser.instant) ?? Timestamp.latest
        guard let start, let end else { return nil }
        return (start, end)
    }
}
