import TodoCore

/// Writes iCalendar text (RFC 5545): CRLF line ends, content lines folded at 75 octets without
/// splitting a UTF-8 sequence (3.1), TEXT values escaped (3.3.11), times in UTC.
public struct ICalendarWriter: Sendable {
    public private(set) var text = ""

    public init() {}

    public mutating func begin(_ component: String) {
        line("BEGIN:" + component)
    }

    public mutating func end(_ component: String) {
        line("END:" + component)
    }

    /// A property whose value is written as given (a number, a duration, an enumerated value).
    public mutating func property(_ name: String, _ value: String) {
        line(name + ":" + value)
    }

    /// Lines kept as a client wrote them (already folded, each ending in CRLF), written unchanged.
    public mutating func raw(_ lines: String) {
        text += lines
    }

    /// A TEXT property: backslashes, semicolons, commas and line breaks escaped.
    public mutating func text(_ name: String, _ value: String) {
        line(name + ":" + Self.escaped(value))
    }

    /// A list of TEXT values, such as CATEGORIES: each escaped, then joined by commas.
    public mutating func textList(_ name: String, _ values: [String]) {
        line(name + ":" + values.map(Self.escaped).joined(separator: ","))
    }

    /// A DATE-TIME in UTC, `20261204T090000Z` (iCalendar has no fractions of a second).
    public mutating func dateTime(_ name: String, _ time: Timestamp) {
        line(name + ":" + Self.utcDateTime(time))
    }

    static func escaped(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case ";": escaped += "\\;"
            case ",": escaped += "\\,"
            case "\r\n", "\n", "\r": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func utcDateTime(_ time: Timestamp) -> String {
        // `2026-12-04T09:00:00.000Z` → `20261204T090000Z`
        String(time.rfc3339.prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
    }

    /// Folds after 75 octets: each continuation starts with a space, which readers remove.
    private mutating func line(_ content: String) {
        var octets = 0
        for scalar in content.unicodeScalars {
            let width = UTF8.width(scalar)
            if octets + width > 75 {
                text += "\r\n "
                octets = 1
            }
            text.unicodeScalars.append(scalar)
            octets += width
        }
        text += "\r\n"
    }
}
