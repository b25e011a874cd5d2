import NIOCore
import TodoCore

/// Writes tasks as JSON straight into a byte buffer: the hot path of every list and read.
/// Foundation's `JSONEncoder` spends most of a list request building and sorting keyed
/// containers; this writes the same document (same keys, same order, same escaping) directly.
/// `TodoTask`'s `Encodable` conformance stays the reference: a test compares both.
enum TaskJSON {
    static func write(_ task: TodoTask, into buffer: inout ByteBuffer) {
        let fields = task.fields
        buffer.writeStaticString("{\"completed\":")
        buffer.writeStaticString(fields.completed ? "true" : "false")
        buffer.writeStaticString(",\"completed_at\":")
        writeTime(task.completedAt, into: &buffer)
        buffer.writeStaticString(",\"created_at\":")
        writeTime(task.createdAt, into: &buffer)
        buffer.writeStaticString(",\"description\":")
        writeString(fields.description, into: &buffer)
        buffer.writeStaticString(",\"due_at\":")
        writeTime(fields.dueAt, into: &buffer)
        buffer.writeStaticString(",\"id\":\"")
        buffer.writeString(String(task.id))
        buffer.writeStaticString("\",\"priority\":\"")
        buffer.writeString(fields.priority.rawValue)
        buffer.writeStaticString("\",\"recurrence\":")
        writeRecurrence(fields.recurrence, into: &buffer)
        buffer.writeStaticString(",\"remind_at\":")
        writeTime(fields.remindAt, into: &buffer)
        buffer.writeStaticString(",\"tags\":[")
        for (index, tag) in fields.tags.enumerated() {
            if index > 0 { buffer.writeStaticString(",") }
            writeString(tag, into: &buffer)
        }
        buffer.writeStaticString("],\"title\":")
        writeString(fields.title, into: &buffer)
        buffer.writeStaticString(",\"updated_at\":")
        writeTime(task.updatedAt, into: &buffer)
        buffer.writeStaticString("}")
    }

    /// `{"items":[...],"next_cursor":...}`
    static func page(_ items: [TodoTask], nextCursor: String?) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + items.count * 320)
        buffer.writeStaticString("{\"items\":[")
        for (index, task) in items.enumerated() {
            if index > 0 { buffer.writeStaticString(",") }
            write(task, into: &buffer)
        }
        buffer.writeStaticString("],\"next_cursor\":")
        if let nextCursor { writeString(nextCursor, into: &buffer) } else { buffer.writeStaticString("null") }
        buffer.writeStaticString("}")
        return buffer
    }

    static func single(_ task: TodoTask) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 384)
        write(task, into: &buffer)
        return buffer
    }

    static func writeTime(_ time: Timestamp?, into buffer: inout ByteBuffer) {
        guard let time else {
            buffer.writeStaticString("null")
            return
        }
        buffer.writeStaticString("\"")
        buffer.writeString(time.rfc3339)
        buffer.writeStaticString("\"")
    }

    static func writeRecurrence(_ recurrence: Recurrence?, into buffer: inout ByteBuffer) {
        guard let recurrence else {
            buffer.writeStaticString("null")
            return
        }
        // The keys of Recurrence's synthesized Codable, sorted; absent values are left out.
        buffer.writeStaticString("{")
        if let count = recurrence.count {
            buffer.writeStaticString("\"count\":")
            buffer.writeString(String(count))
            buffer.writeStaticString(",")
        }
        buffer.writeStaticString("\"frequency\":\"")
        buffer.writeString(recurrence.frequency.rawValue)
        buffer.writeStaticString("\",\"interval\":")
        buffer.writeString(String(recurrence.interval))
        if let timezone = recurrence.timezone {
            buffer.writeStaticString(",\"timezone\":")
            writeString(timezone, into: &buffer)
        }
        if let until = recurrence.until {
            buffer.writeStaticString(",\"until\":")
            writeTime(until, into: &buffer)
        }
        buffer.writeStaticString("}")
    }

    /// A JSON string: quotes, backslashes and control characters escaped as JSONEncoder does,
    /// everything else as UTF-8.
    static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        let needsEscaping = text.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        if !needsEscaping {
            buffer.writeString(text)
        } else {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x0C: buffer.writeStaticString("\\f")
                case ..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                       hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeStaticString("\"")
    }
}
