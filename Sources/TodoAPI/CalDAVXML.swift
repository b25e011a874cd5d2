/// The XML of WebDAV request bodies (PROPFIND, REPORT), read by a small, strict reader of our
/// own instead of Foundation's `XMLParser`, for two measured reasons:
/// - Size. `XMLParser` lives in FoundationXML, which links libxml2. The image's binary is
///   static and its base (distroless cc) has no libxml2; Debian 12's libxml2 2.9.14 (1.75 MB)
///   depends on the system ICU 72 (libicuuc 2.1 MB, libicui18n 3.3 MB, libicudata 31.3 MB) and
///   liblzma, about 38 MB beside the 0.6 MB of libFoundationXML.a, with the image at 94.2 MB of
///   its 100 MB limit. (File sizes of the build image's packages; the image was not rebuilt.)
/// - Safety. Request bodies come from anyone who can reach the server. This reader refuses any
///   DOCTYPE, so there are no entity declarations to expand (billion laughs) or resolve
///   (external entities): only the five predefined entities and character references exist.
///
/// WebDAV bodies are small and use no DTDs, so refusing them costs clients nothing.
struct DAVElement: Sendable, Equatable {
    var namespace: String
    var name: String
    var attributes: [String: String] = [:]
    var children: [DAVElement] = []
    var text = ""

    func child(_ namespace: String, _ name: String) -> DAVElement? {
        children.first { $0.namespace == namespace && $0.name == name }
    }

    func children(_ namespace: String, _ name: String) -> [DAVElement] {
        children.filter { $0.namespace == namespace && $0.name == name }
    }

    func `is`(_ namespace: String, _ name: String) -> Bool { self.namespace == namespace && self.name == name }
}

struct XMLReadError: Error, Sendable, Equatable {
    var message: String
}

struct XMLReader {
    static let maximumDepth = 32
    static let maximumElements = 50_000

    private let bytes: [UInt8]
    private var index = 0
    private var elements = 0

    static func parse(_ bytes: [UInt8]) throws(XMLReadError) -> DAVElement {
        var reader = XMLReader(bytes: bytes)
        return try reader.document()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func document() throws(XMLReadError) -> DAVElement {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        try skipMisc(allowDeclaration: true)
        guard peek("<") else { throw XMLReadError(message: "no root element") }
        let root = try element(depth: 0, namespaces: ["xml": "http://www.w3.org/XML/1998/namespace"])
        try skipMisc(allowDeclaration: false)
        guard index == bytes.count else { throw XMLReadError(message: "content after the root element") }
        return root
    }

    /// Whitespace, comments and (at the start) the XML declaration; a DOCTYPE or a processing
    /// instruction is an error.
    private mutating func skipMisc(allowDeclaration: Bool) throws(XMLReadError) {
        while true {
            skipWhitespace()
            if starts("<?xml ") || starts("<?xml?>") {
                guard allowDeclaration, let end = find("?>") else { throw XMLReadError(message: "a misplaced XML declaration") }
                index = end + 2
            } else if starts("<!--") {
                try skipComment()
            } else if starts("<!") || starts("<?") {
                throw XMLReadError(message: "DOCTYPE, entity declarations and processing instructions are not accepted")
            } else {
                return
            }
        }
    }

    private mutating func skipComment() throws(XMLReadError) {
        guard let end = find("-->", from: index + 4) else { throw XMLReadError(message: "an unclosed comment") }
        index = end + 3
    }

    private mutating func element(depth: Int, namespaces inherited: [String: String]) throws(XMLReadError) -> DAVElement {
        guard depth < Self.maximumDepth else { throw XMLReadError(message: "elements nested too deeply") }
        elements += 1
        guard elements <= Self.maximumElements else { throw XMLReadError(message: "too many elements") }
        index += 1  // <
        let qualifiedName = try name()
        var rawAttributes: [(String, String)] = []
        var namespaces = inherited
        var selfClosing = false
        while true {
            skipWhitespace()
            if starts("/>") {
                index += 2
                selfClosing = true
                break
            }
            if peek(">") {
                index += 1
                break
            }
            let attribute = try name()
            skipWhitespace()
            guard peek("=") else { throw XMLReadError(message: "an attribute without a value") }
            index += 1
            skipWhitespace()
            let value = try quoted()
            if attribute == "xmlns" {
                namespaces[""] = value
            } else if attribute.hasPrefix("xmlns:") {
                namespaces[String(attribute.dropFirst(6))] = value
            } else {
                rawAttributes.append((attribute, value))
            }
        }
        let (namespace, local) = try resolve(qualifiedName, namespaces, isAttribute: false)
        var result = DAVElement(namespace: namespace, name: local)
        for (attribute, value) in rawAttributes {
            result.attributes[try resolve(attribute, namespaces, isAttribute: true).1] = value
        }
        if selfClosing { return result }
        while true {
            guard index < bytes.count else { throw XMLReadError(message: "<\(qualifiedName)> is not closed") }
            if starts("</") {
                index += 2
                guard try name() == qualifiedName else { throw XMLReadError(message: "a closing tag does not match <\(qualifiedName)>") }
                skipWhitespace()
                guard peek(">") else { throw XMLReadError(message: "a malformed closing tag") }
                index += 1
                return result
            } else if starts("<!--") {
                try skipComment()
            } else if starts("<![CDATA[") {
                guard let end = find("]]>", from: index + 9) else { throw XMLReadError(message: "an unclosed CDATA section") }
                result.text += String(decoding: bytes[(index + 9)..<end], as: UTF8.self)
                index = end + 3
            } else if starts("<!") || starts("<?") {
                throw XMLReadError(message: "DOCTYPE, entity declarations and processing instructions are not accepted")
            } else if peek("<") {
                result.children.append(try element(depth: depth + 1, namespaces: namespaces))
            } else {
                result.text += try characterData()
            }
        }
    }

    private func resolve(_ qualified: String, _ namespaces: [String: String], isAttribute: Bool) throws(XMLReadError) -> (String, String) {
        let parts = qualified.split(separator: ":", maxSplits: 1)
        if parts.count == 2 {
            guard let namespace = namespaces[String(parts[0])] else { throw XMLReadError(message: "an undeclared namespace prefix \(parts[0])") }
            return (namespace, String(parts[1]))
        }
        // Attributes without a prefix are in no namespace (Namespaces in XML, 6.2).
        return (isAttribute ? "" : namespaces[""] ?? "", qualified)
    }

    private mutating func name() throws(XMLReadError) -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "<")
                || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "&")
            {
                break
            }
            index += 1
        }
        guard index > start, index - start <= 256 else { throw XMLReadError(message: "a missing or overlong name") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func quoted() throws(XMLReadError) -> String {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
            throw XMLReadError(message: "an attribute value without quotes")
        }
        let quote = bytes[index]
        index += 1
        var value = ""
        while index < bytes.count, bytes[index] != quote {
            if bytes[index] == UInt8(ascii: "<") { throw XMLReadError(message: "'<' in an attribute value") }
            if bytes[index] == UInt8(ascii: "&") {
                value += try reference()
            } else {
                let start = index
                while index < bytes.count, bytes[index] != quote, bytes[index] != UInt8(ascii: "&"), bytes[index] != UInt8(ascii: "<") { index += 1 }
                value += String(decoding: bytes[start..<index], as: UTF8.self)
            }
        }
        guard index < bytes.count else { throw XMLReadError(message: "an unclosed attribute value") }
        index += 1
        return value
    }

    private mutating func characterData() throws(XMLReadError) -> String {
        var text = ""
        while index < bytes.count, bytes[index] != UInt8(ascii: "<") {
            if bytes[index] == UInt8(ascii: "&") {
                text += try reference()
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<"), bytes[index] != UInt8(ascii: "&") { index += 1 }
                text += String(decoding: bytes[start..<index], as: UTF8.self)
            }
        }
        return text
    }

    /// `&lt;` and the other four predefined entities, or a character reference; any other
    /// name could only come from a DTD, which is refused.
    private mutating func reference() throws(XMLReadError) -> String {
        guard let end = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { throw XMLReadError(message: "a malformed reference") }
        let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
        index = end + 1
        switch name {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        default:
            let number: UInt32? =
                name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16) : name.hasPrefix("#") ? UInt32(name.dropFirst(1)) : nil
            guard let number, let scalar = Unicode.Scalar(number) else { throw XMLReadError(message: "an undefined entity &\(name);") }
            return String(Character(scalar))
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[index]) { index += 1 }
    }

    private func peek(_ character: Unicode.Scalar) -> Bool {
        index < bytes.count && bytes[index] == UInt8(ascii: character)
    }

    private func starts(_ text: String) -> Bool {
        bytes[index...].starts(with: text.utf8)
    }

    private func find(_ text: String, from start: Int? = nil) -> Int? {
        let needle = Array(text.utf8)
        var position = start ?? index
        while position + needle.count <= bytes.count {
            if bytes[position] == needle[0] && bytes[position..<(position + needle.count)].elementsEqual(needle) { return position }
            position += 1
        }
        return nil
    }
}

/// Writes the XML of WebDAV responses.
struct XMLWriter {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

    mutating func open(_ tag: String, attributes: String = "") {
        text += "<" + tag + attributes + ">"
    }

    mutating func close(_ tag: String) {
        text += "</" + tag + ">"
    }

    mutating func empty(_ tag: String) {
        text += "<" + tag + "/>"
    }

    mutating func element(_ tag: String, _ value: String) {
        text += "<" + tag + ">" + Self.escaped(value) + "</" + tag + ">"
    }

    /// Markup made elsewhere, already escaped.
    mutating func markup(_ fragment: String) {
        text += fragment
    }

    static func escaped(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "\r\n": escaped += "&#13;\n"
            case "\r": escaped += "&#13;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
