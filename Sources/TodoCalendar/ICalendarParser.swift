/// Reads iCalendar text (RFC 5545) into components and properties. Each property keeps the
/// exact text it was read from (`raw`, folding included), so that what we do not model can be
/// written back byte for byte.
public enum ICalendarParser {
    /// Limits that keep a hostile body cheap to refuse: nesting deeper than a VCALENDAR with a
    /// VTODO with a VALARM (and a little room) and more lines than any task needs are errors.
    static let maximumDepth = 8
    static let maximumLines = 20_000

    public static func parse(_ text: String) throws(ICalendarError) -> ICalendarComponent {
        let lines = try contentLines(text)
        var stack: [ICalendarComponent] = []
        var root: ICalendarComponent?
        for line in lines {
            let property = try ICalendarProperty(line: line.unfolded, raw: line.raw)
            switch property.name {
            case "BEGIN":
                guard root == nil else { throw .malformed("text after the end of the calendar") }
                guard stack.count < maximumDepth else { throw .malformed("components nested too deeply") }
                guard isName(property.value) else { throw .malformed("BEGIN needs a component name") }
                stack.append(ICalendarComponent(name: property.value.uppercased(), beginRaw: line.raw))
            case "END":
                guard var component = stack.popLast(), component.name == property.value.uppercased() else {
                    throw .malformed("END:\(property.value) does not close the open component")
                }
                component.endRaw = line.raw
                if stack.isEmpty { root = component } else { stack[stack.count - 1].components.append(component) }
            default:
                guard !stack.isEmpty else { throw .malformed("a property outside any component") }
                stack[stack.count - 1].properties.append(property)
            }
        }
        guard stack.isEmpty, let root else { throw .malformed("the calendar is not closed with END") }
        return root
    }

    struct ContentLine {
        var raw: String
        var unfolded: String
    }

    /// Splits the text into content lines, joining folded continuations (3.1). Bare LF line ends
    /// are accepted, as most parsers do; the raw text keeps CRLF.
    static func contentLines(_ text: String) throws(ICalendarError) -> [ContentLine] {
        var lines: [ContentLine] = []
        for physical in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            if physical.first == " " || physical.first == "\t" {
                guard !lines.isEmpty else { throw .malformed("the text starts with a continuation line") }
                lines[lines.count - 1].raw += "\r\n" + physical
                lines[lines.count - 1].unfolded += physical.dropFirst()
            } else {
                guard lines.count < maximumLines else { throw .malformed("more than \(maximumLines) lines") }
                lines.append(ContentLine(raw: String(physical), unfolded: String(physical)))
            }
        }
        return lines
    }

    static func isName(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }
}

public enum ICalendarError: Error, Sendable, Equatable {
    case malformed(String)

    public var message: String {
        switch self {
        case .malformed(let reason): "malformed iCalendar: \(reason)"
        }
    }
}

/// A component such as VCALENDAR, VTODO or VALARM, with its text kept for writing it back.
public struct ICalendarComponent: Sendable, Equatable {
    public var name: String
    public var properties: [ICalendarProperty] = []
    public var components: [ICalendarComponent] = []
    var beginRaw: String
    var endRaw = ""

    init(name: String, beginRaw: String) {
        self.name = name
        self.beginRaw = beginRaw
    }

    public func property(_ name: String) -> ICalendarProperty? {
        properties.first { $0.name == name }
    }

    /// The component as it was read, each line ending in CRLF.
    public var raw: String {
        var text = beginRaw + "\r\n"
        for property in properties { text += property.raw + "\r\n" }
        for component in components { text += component.raw }
        return text + endRaw + "\r\n"
    }
}

/// One content line: `NAME;PARAM=value:value`.
public struct ICalendarProperty: Sendable, Equatable {
    public var name: String
    /// Parameter names in upper case; values without their quotes.
    public var parameters: [String: String]
    public var value: String
    /// The line as it was read, folding included, without its final line break.
    public var raw: String

    init(line: String, raw: String) throws(ICalendarError) {
        self.raw = raw
        var parameters: [String: String] = [:]
        var index = line.startIndex
        func readName() -> String {
            let start = index
            while index < line.endIndex, line[index] != ";", line[index] != ":", line[index] != "=" { index = line.index(after: index) }
            return String(line[start..<index])
        }
        let name = readName()
        guard ICalendarParser.isName(name) else { throw .malformed("a line without a property name: \(line.prefix(40))") }
        self.name = name.uppercased()
        while index < line.endIndex, line[index] == ";" {
            index = line.index(after: index)
            let parameter = readName().uppercased()
            guard ICalendarParser.isName(parameter), index < line.endIndex, line[index] == "=" else {
                throw .malformed("a bad parameter in \(self.name)")
            }
            index = line.index(after: index)
            var values: [String] = []
            repeat {
                if values.count > 0 { index = line.index(after: index) }  // the comma between values
                if index < line.endIndex, line[index] == "\"" {
                    let start = line.index(after: index)
                    guard let close = line[start...].firstIndex(of: "\"") else { throw .malformed("an unclosed quote in \(self.name)") }
                    values.append(String(line[start..<close]))
                    index = line.index(after: close)
                } else {
                    let start = index
                    while index < line.endIndex, line[index] != ";", line[index] != ":", line[index] != "," { index = line.index(after: index) }
                    values.append(String(line[start..<index]))
                }
            } while index < line.endIndex && line[index] == ","
            parameters[parameter] = values.joined(separator: ",")
        }
        guard index < line.endIndex, line[index] == ":" else { throw .malformed("no ':' after \(self.name)") }
        self.parameters = parameters
        self.value = String(line[line.index(after: index)...])
    }

    /// The value read as TEXT (3.3.11): `\n`, `\,`, `\;` and `\\` unescaped.
    public var text: String { Self.unescaped(value) }

    /// The value read as a list of TEXT values separated by unescaped commas (CATEGORIES).
    public var textList: [String] {
        var items: [String] = []
        var current = ""
        var escaping = false
        for character in value {
            if escaping {
                current.append(character == "n" || character == "N" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "," {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current)
        return items
    }

    static func unescaped(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var text = ""
        var escaping = false
        for character in value {
            if escaping {
                text.append(character == "n" || character == "N" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                text.append(character)
            }
        }
        return text
    }
}
