import Foundation
import TodoCore

/// A task as a CalDAV object (RFC 4791): a VCALENDAR holding one VTODO. The properties we model
/// map to the task's fields both ways; everything else (X- properties, DTSTART, SEQUENCE, a
/// second alarm, time zones) is kept as read and written back unchanged on the next GET, since
/// clients store their own data there and break when it vanishes.
public struct CalendarTodo: Sendable, Equatable {
    public var uid: String
    /// The UID of the parent task (`RELATED-TO;RELTYPE=PARENT`): the object is a sub-task.
    public var parentUID: String?
    /// The fields as the task API would read them (validated by the same rules).
    public var fields: TaskFields
    /// Lines and components of the VTODO that are not modelled, as read (CRLF line ends).
    public var todoExtra: String
    /// Lines and components of the VCALENDAR around it, such as VTIMEZONE, as read.
    public var calendarExtra: String

    public init(uid: String, parentUID: String? = nil, fields: TaskFields, todoExtra: String = "", calendarExtra: String = "") {
        self.uid = uid
        self.parentUID = parentUID
        self.fields = fields
        self.todoExtra = todoExtra
        self.calendarExtra = calendarExtra
    }

    /// The UID of a task that has none of a client's: tasks made through the API or the web.
    public static func defaultUID(for id: TaskID) -> String { "task-\(id)@todo" }

    static let maximumUIDLength = 255
    /// What the VTODO's modelled properties are; the calendar's own lines are written anew.
    static let modelledTodoProperties: Set<String> = [
        "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SUMMARY", "DESCRIPTION", "PRIORITY", "CATEGORIES", "DUE", "STATUS",
        "COMPLETED", "PERCENT-COMPLETE",
    ]
    static let modelledCalendarProperties: Set<String> = ["VERSION", "PRODID", "CALSCALE", "METHOD"]
    /// Components that are not to-dos: a tasks calendar refuses them (RFC 4791 5.3.2.1).
    static let otherCalendarComponents: Set<String> = ["VEVENT", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY"]

    /// Reads a calendar object that a client PUTs. Malformed text and anything but one VTODO
    /// (with optional time zones and X- components) are `CalendarObjectError`s; fields the task
    /// API would refuse are a `ValidationError`, with the API's messages.
    public static func read(_ text: String) throws -> CalendarTodo {
        let calendar: ICalendarComponent
        do { calendar = try ICalendarParser.parse(text) } catch { throw CalendarObjectError.malformed(error.message) }
        guard calendar.name == "VCALENDAR" else { throw CalendarObjectError.malformed("the object must be a VCALENDAR") }
        var todos: [ICalendarComponent] = []
        var calendarExtra = ""
        for component in calendar.components {
            if component.name == "VTODO" {
                todos.append(component)
            } else if component.name == "VTIMEZONE" || component.name.hasPrefix("X-") {
                calendarExtra += component.raw
            } else {
                throw CalendarObjectError.unsupportedComponent(component.name)
            }
        }
        guard todos.count == 1, let todo = todos.first else {
            throw CalendarObjectError.malformed(todos.isEmpty ? "the calendar holds no VTODO" : "one VTODO per object (recurrence exceptions are not supported)")
        }
        for property in calendar.properties where !modelledCalendarProperties.contains(property.name) {
            calendarExtra += property.raw + "\r\n"
        }
        guard let uid = todo.property("UID")?.text, !uid.isEmpty, uid.count <= maximumUIDLength else {
            throw CalendarObjectError.malformed("the VTODO needs a UID of 1 to \(maximumUIDLength) characters")
        }
        var reading = TodoReading(todo)
        let fields = try TaskFields(json: reading.json())
        return CalendarTodo(uid: uid, parentUID: reading.parentUID, fields: fields, todoExtra: reading.extra, calendarExtra: calendarExtra)
    }

    /// The calendar object of a stored task, with what its client stored beside it; a sub-task
    /// names its parent by the parent's UID.
    public static func document(
        for task: TodoTask, uid: String, parentUID: String? = nil, todoExtra: String = "", calendarExtra: String = ""
    ) -> String {
        var writer = ICalendarWriter()
        writer.begin("VCALENDAR")
        writer.property("VERSION", "2.0")
        writer.property("PRODID", "-//todo//caldav//EN")
        writer.raw(calendarExtra)
        writer.begin("VTODO")
        writer.text("UID", uid)
        if let parentUID { writer.text("RELATED-TO;RELTYPE=PARENT", parentUID) }
        writer.dateTime("DTSTAMP", task.updatedAt)
        writer.dateTime("CREATED", task.createdAt)
        writer.dateTime("LAST-MODIFIED", task.updatedAt)
        let fields = task.fields
        writer.text("SUMMARY", fields.title)
        if !fields.description.isEmpty { writer.text("DESCRIPTION", fields.description) }
        if let priority = CalendarFeed.priority(fields.priority) { writer.property("PRIORITY", String(priority)) }
        if !fields.tags.isEmpty { writer.textList("CATEGORIES", fields.tags) }
        if let due = fields.dueAt { writer.dateTime("DUE", due) }
        if let recurrence = fields.recurrence, let due = fields.dueAt {
            // RRULE counts from DTSTART (RFC 5545 3.8.5.3); a client's own DTSTART is kept instead.
            if !todoExtra.hasPrefix("DTSTART") && !todoExtra.contains("\r\nDTSTART") { writer.dateTime("DTSTART", due) }
            writer.property("RRULE", rule(recurrence))
        }
        if fields.completed {
            writer.property("STATUS", "COMPLETED")
            writer.dateTime("COMPLETED", task.completedAt ?? task.updatedAt)
            writer.property("PERCENT-COMPLETE", "100")
        } else {
            writer.property("STATUS", "NEEDS-ACTION")
        }
        writer.raw(todoExtra)
        if let remindAt = fields.remindAt {
            writer.begin("VALARM")
            writer.property("ACTION", "DISPLAY")
            writer.text("DESCRIPTION", fields.title)
            writer.dateTime("TRIGGER;VALUE=DATE-TIME", remindAt)
            writer.end("VALARM")
        }
        writer.end("VTODO")
        writer.end("VCALENDAR")
        return writer.text
    }

    static func rule(_ recurrence: Recurrence) -> String {
        var parts = ["FREQ=" + recurrence.frequency.rawValue.uppercased()]
        if recurrence.interval != 1 { parts.append("INTERVAL=\(recurrence.interval)") }
        if let count = recurrence.count { parts.append("COUNT=\(count)") }
        if let until = recurrence.until { parts.append("UNTIL=" + ICalendarWriter.utcDateTime(until)) }
        return parts.joined(separator: ";")
    }
}

/// Why a calendar object was refused before its fields were looked at.
public enum CalendarObjectError: Error, Sendable, Equatable {
    case malformed(String)
    /// A VEVENT (or another non-VTODO component) in the tasks calendar.
    case unsupportedComponent(String)
}

/// The modelled properties of one VTODO as the task API's JSON, and the rest as text.
struct TodoReading {
    let todo: ICalendarComponent
    private(set) var extra = ""
    /// The first `RELATED-TO` naming a parent (RELTYPE=PARENT is the default, RFC 5545 3.2.15).
    private(set) var parentUID: String?

    init(_ todo: ICalendarComponent) {
        self.todo = todo
    }

    mutating func json() -> JSONValue {
        var object: [String: JSONValue] = [:]
        object["title"] = .string(title())
        if let description = todo.property("DESCRIPTION")?.text { object["description"] = .string(description) }
        object["priority"] = .string(priority().rawValue)
        object["tags"] = .array(tags().map(JSONValue.string))
        object["completed"] = .bool(completed())
        let due = todo.property("DUE").flatMap(ICalendarTime.instant)
        let start = todo.property("DTSTART").flatMap(ICalendarTime.instant)
        let anchor = due ?? start
        if let anchor { object["due_at"] = .string(anchor.rfc3339) }
        var keptRule: ICalendarProperty?
        if let rule = todo.property("RRULE") {
            let timezone = (todo.property("DUE") ?? todo.property("DTSTART"))?.parameters["TZID"].flatMap(ICalendarTime.timeZoneName)
            if anchor != nil, let recurrence = Self.recurrence(rule.value, timezone: timezone) {
                object["recurrence"] = recurrence
            } else {
                keptRule = rule  // a rule we cannot follow stays the client's, and the task does not repeat here
            }
        }
        var alarmUsed = false
        // DTSTART is kept as read: we have no start date, only use it as the due date when DUE is absent.
        for property in todo.properties {
            if parentUID == nil, property.name == "RELATED-TO", (property.parameters["RELTYPE"] ?? "PARENT").uppercased() == "PARENT" {
                parentUID = property.text
                continue
            }
            let modelled = CalendarTodo.modelledTodoProperties.contains(property.name) || (property.name == "RRULE" && keptRule == nil)
            if !modelled { extra += property.raw + "\r\n" }
        }
        for component in todo.components {
            if !alarmUsed, component.name == "VALARM", let remindAt = Self.trigger(component, start: start ?? due, due: due) {
                object["remind_at"] = .string(remindAt.rfc3339)
                alarmUsed = true
            } else {
                extra += component.raw
            }
        }
        return .object(object)
    }

    private func title() -> String {
        let text = (todo.property("SUMMARY")?.text ?? "").split(whereSeparator: \.isNewline).joined(separator: " ")
        return text.trimmingCharacters(in: .whitespaces).isEmpty ? "Untitled" : text
    }

    /// RFC 5545 3.8.1.9: 1 to 4 high, 5 medium, 6 to 9 low, 0 undefined.
    private func priority() -> Priority {
        switch todo.property("PRIORITY").flatMap({ Int($0.value.trimmingCharacters(in: .whitespaces)) }) {
        case (1...4)?: .high
        case 5?: .medium
        case (6...9)?: .low
        default: .none
        }
    }

    /// Every CATEGORIES value; our tags have no spaces, so inner spaces become dashes.
    private func tags() -> [String] {
        todo.properties.filter { $0.name == "CATEGORIES" }.flatMap(\.textList).compactMap { raw in
            let words = raw.split(whereSeparator: \.isWhitespace)
            return words.isEmpty ? nil : words.joined(separator: "-")
        }
    }

    /// STATUS decides when present; otherwise a COMPLETED time or 100 % does.
    private func completed() -> Bool {
        if let status = todo.property("STATUS")?.value.uppercased() { return status == "COMPLETED" }
        return todo.property("COMPLETED") != nil || todo.property("PERCENT-COMPLETE")?.value == "100"
    }

    /// FREQ, INTERVAL, COUNT and UNTIL (and WKST, which changes nothing for these); nil for
    /// anything else, such as BYDAY or an hourly rule, which our recurrence cannot express.
    static func recurrence(_ value: String, timezone: String?) -> JSONValue? {
        var object: [String: JSONValue] = [:]
        for part in value.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { return nil }
            switch pair[0].uppercased() {
            case "FREQ":
                guard ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].contains(pair[1].uppercased()) else { return nil }
                object["frequency"] = .string(pair[1].lowercased())
            case "INTERVAL":
                guard let number = Int64(pair[1]) else { return nil }
                object["interval"] = .integer(number)
            case "COUNT":
                guard let number = Int64(pair[1]) else { return nil }
                object["count"] = .integer(number)
            case "UNTIL":
                guard let until = ICalendarTime.instant(pair[1], timeZone: nil) else { return nil }
                object["until"] = .string(until.rfc3339)
            case "WKST":
                continue
            default:
                return nil
            }
        }
        guard object["frequency"] != nil else { return nil }
        if let timezone { object["timezone"] = .string(timezone) }
        return .object(object)
    }

    /// When the alarm fires: an absolute TRIGGER, or a duration from the start (or the due
    /// date, `RELATED=END`). Nil for an alarm we cannot place, which is then kept as read.
    static func trigger(_ alarm: ICalendarComponent, start: Timestamp?, due: Timestamp?) -> Timestamp? {
        guard let trigger = alarm.property("TRIGGER") else { return nil }
        if trigger.parameters["VALUE"]?.uppercased() == "DATE-TIME" || trigger.value.uppercased().hasSuffix("Z") && !trigger.value.contains("P") {
            return ICalendarTime.instant(trigger)
        }
        guard let offset = ICalendarTime.duration(trigger.value) else { return nil }
        let anchor = trigger.parameters["RELATED"]?.uppercased() == "END" ? due : start
        return anchor?.adding(milliseconds: offset)
    }
}

/// Dates, times and durations of iCalendar values.
enum ICalendarTime {
    static func instant(_ property: ICalendarProperty) -> Timestamp? {
        instant(property.value, timeZone: property.parameters["TZID"])
    }

    /// `20261204T090000Z` (UTC), `20261204T090000` in `TZID` (or UTC when floating or unknown),
    /// or the date `20261204`, read as its midnight in UTC.
    static func instant(_ value: String, timeZone name: String?) -> Timestamp? {
        let digits = Array(value.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= digits.count else { return nil }
            var result = 0
            for byte in digits[range] {
                guard (48...57).contains(byte) else { return nil }
                result = result * 10 + Int(byte - 48)
            }
            return result
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8) else { return nil }
        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var zone = TimeZone(identifier: "UTC")!
        if digits.count > 8 {
            guard digits.count >= 15, digits[8] == UInt8(ascii: "T"), let hour = number(9..<11), let minute = number(11..<13),
                let second = number(13..<15)
            else { return nil }
            components.hour = hour
            components.minute = minute
            components.second = min(second, 59)
            if digits.count == 16, digits[15] == UInt8(ascii: "Z") {
                zone = TimeZone(identifier: "UTC")!
            } else if digits.count == 15 {
                if let name, let known = timeZoneName(name).flatMap(TimeZone.init(identifier:)) { zone = known }
            } else {
                return nil
            }
        } else if digits.count != 8 {
            return nil
        }
        guard (1...12).contains(month), (1...31).contains(day), components.hour! < 24, components.minute! < 60 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let date = calendar.date(from: components) else { return nil }
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        guard milliseconds >= Timestamp.earliest.millisecondsSinceEpoch, milliseconds <= Timestamp.latest.millisecondsSinceEpoch else { return nil }
        return Timestamp(millisecondsSinceEpoch: milliseconds)
    }

    /// An IANA name from a TZID (`Europe/Berlin`, or `/Europe/Berlin` as some clients write it).
    static func timeZoneName(_ tzid: String) -> String? {
        let name = tzid.hasPrefix("/") ? String(tzid.dropFirst()) : tzid
        return TimeZone(identifier: name) != nil && name.count <= 64 ? name : nil
    }

    /// A DURATION such as `-PT15M` or `P1DT2H`, in milliseconds.
    static func duration(_ value: String) -> Int64? {
        var text = Substring(value.uppercased())
        var sign: Int64 = 1
        if text.hasPrefix("-") {
            sign = -1
            text = text.dropFirst()
        } else if text.hasPrefix("+") {
            text = text.dropFirst()
        }
        guard text.hasPrefix("P") else { return nil }
        text = text.dropFirst()
        var total: Int64 = 0
        var digits = ""
        var inTime = false
        var sawUnit = false
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            if character == "T" && digits.isEmpty {
                inTime = true
                continue
            }
            guard let amount = Int64(digits), digits.count <= 9 else { return nil }
            digits = ""
            sawUnit = true
            switch (character, inTime) {
            case ("W", false): total += amount * 604_800
            case ("D", false): total += amount * 86_400
            case ("H", true): total += amount * 3_600
            case ("M", true): total += amount * 60
            case ("S", true): total += amount
            default: return nil
            }
        }
        guard digits.isEmpty, sawUnit else { return nil }
        return sign * total * 1000
    }
}

extension ICalendarProperty {
    /// The value as an instant (DATE-TIME in UTC, with TZID, floating as UTC, or a DATE's midnight in UTC).
    public var instant: Timestamp? { ICalendarTime.instant(self) }
}

extension ICalendarParser {
    /// An iCalendar DATE-TIME or DATE value, such as a CalDAV time-range's `20261204T000000Z`.
    public static func instant(_ value: String) -> Timestamp? { ICalendarTime.instant(value, timeZone: nil) }
}
