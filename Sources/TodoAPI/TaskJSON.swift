import NIOCore
import TodoCore

/// Writes tasks as JSON: the hot path of every list and read. Foundation's `JSONEncoder` spent
/// most of a list request building and sorting keyed containers; this writes the same document
/// (same keys, same order, same escaping) directly. `TodoTask`'s `Encodable` conformance stays
/// the reference: a test compares both. The bytes gather in an array, copied once into the
/// response's buffer: each `ByteBuffer` write checks capacity and uniqueness out of line, which
/// was a third of this writer's time.
enum TaskJSON {
    /// `{"items":[...],"next_cursor":...}`
    static func page(_ items: [TodoTask], nextCursor: String?) -> ByteBuffer {
        var json = JSONBytes(capacity: 64 + items.count * 320)
        json.append("{\"items\":[")
        for (index, task) in items.enumerated() {
            if index > 0 { json.append(",") }
            json.append(task)
        }
        json.append("],\"next_cursor\":")
        if let nextCursor { json.appendString(nextCursor) } else { json.append("null") }
        json.append("}")
        return json.buffer
    }

    static func single(_ task: TodoTask) -> ByteBuffer {
        var json = JSONBytes(capacity: 384)
        json.append(task)
        return json.buffer
    }
}

/// A JSON document under construction.
struct JSONBytes {
    private var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    /// Literal JSON text.
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ task: TodoTask) {
        let fields = task.fields
        append("{\"completed\":")
        append(fields.completed ? "true" : "false")
        append(",\"completed_at\":")
        appendTime(task.completedAt)
        append(",\"created_at\":")
        appendTime(task.createdAt)
        append(",\"description\":")
        appendString(fields.description)
        append(",\"due_at\":")
        appendTime(fields.dueAt)
        append(",\"id\":\"")
        appendInteger(task.id)
        append("\",\"priority\":\"")
        bytes.append(contentsOf: fields.priority.rawValue.utf8)
        append("\",\"recurrence\":")
        appendRecurrence(fields.recurrence)
        append(",\"remind_at\":")
        appendTime(fields.remindAt)
        append(",\"tags\":[")
        for (index, tag) in fields.tags.enumerated() {
            if index > 0 { append(",") }
            appendString(tag)
        }
        append("],\"title\":")
        appendString(fields.title)
        append(",\"updated_at\":")
        appendTime(task.updatedAt)
        append("}")
    }

    mutating func appendTime(_ time: Timestamp?) {
        guard let time else { return append("null") }
        bytes.append(UInt8(ascii: "\""))
        time.appendRFC3339(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func appendInteger<Integer: BinaryInteger>(_ value: Integer) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func appendRecurrence(_ recurrence: Recurrence?) {
        guard let recurrence else { return append("null") }
        // The keys of Recurrence's synthesized Codable, sorted; absent values are left out.
        append("{")
        if let count = recurrence.count {
            append("\"count\":")
            appendInteger(count)
            append(",")
        }
        append("\"frequency\":\"")
        bytes.append(contentsOf: recurrence.frequency.rawValue.utf8)
        append("\",\"interval\":")
        appendInteger(recurrence.interval)
        if let timezone = recurrence.timezone {
            append(",\"timezone\":")
            appendString(timezone)
        }
        if let until = recurrence.until {
            append(",\"until\":")
            appendTime(until)
        }
        append("}")
    }

    /// A JSON string: quotes, backslashes and control characters escaped as JSONEncoder does,
    /// everything else as UTF-8.
    mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in  // the string's own bytes: a native string is not copied
            if utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                for byte in utf8 { appendEscaped(byte) }
            } else {
                bytes.append(contentsOf: utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): append("\\\"")
        case UInt8(ascii: "\\"): append("\\\\")
        case 0x0A: append("\\n")
        case 0x0D: append("\\r")
        case 0x09: append("\\t")
        case 0x08: append("\\b")
        case 0x0C: append("\\f")
        case ..<0x20:
            let hex: StaticString = "0123456789abcdef"
            append("\\u00")
            hex.withUTF8Buffer { digits in
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0xF)])
            }
        default: bytes.append(byte)
        }
    }
}
