import NIOCore
import TodoCore
import TodoStore

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

/// The export document (`TaskExport`) in pieces, so that it can be sent while its tasks are
/// read: together they are the bytes `APIJSON.encoder` makes of the whole document, keys sorted
/// (`exported_at`, `format`, `projects`, `tasks`, `version`), each task as `TaskJSON` writes it.
public enum ExportJSON {
    /// Writes the whole document of `userID`'s projects and tasks, `first` and the pages after
    /// it, one page at a time: the tasks are never whole in memory (the projects are few).
    public static func write(
        _ first: TaskPage, projects: [Project], userID: UserID, from store: any TaskStore, exportedAt: Timestamp,
        to output: (ByteBuffer) async throws -> Void
    ) async throws {
        try await output(start(exportedAt: exportedAt, projects: projects))
        var page = first, written = 0
        while true {
            try await output(tasks(page.items, after: written))
            written += page.items.count
            guard let cursor = page.nextCursor else { break }
            page = try await store.tasksOldestFirst(userID: userID, after: cursor)
        }
        try await output(end)
    }

    /// Up to the opening bracket of `tasks`.
    static func start(exportedAt: Timestamp, projects: [Project]) throws -> ByteBuffer {
        var json = JSONBytes(capacity: 80)
        json.append("{\"exported_at\":")
        json.appendTime(exportedAt)
        json.append(",\"format\":")
        json.appendString(TaskExport.format)
        json.append(",\"projects\":")
        var buffer = json.buffer
        buffer.writeBytes(try APIJSON.encoder.encode(projects))
        buffer.writeString(",\"tasks\":[")
        return buffer
    }

    /// A page of tasks, after `count` tasks already written.
    static func tasks(_ tasks: [TodoTask], after count: Int) -> ByteBuffer {
        var json = JSONBytes(capacity: tasks.count * 320)
        for (index, task) in tasks.enumerated() {
            if count + index > 0 { json.append(",") }
            json.append(task)
        }
        return json.buffer
    }

    static let end = ByteBuffer(string: "],\"version\":\(TaskExport.version)}")
}

extension JSONBytes {
    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    mutating func append(_ task: TodoTask) {
        let fields = task.fields
        append("{\"assignee_id\":")
        if let assignee = task.assigneeID { appendString(assignee) } else { append("null") }
        append(",\"completed\":")
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
        append("\",\"parent_id\":")
        appendOptionalID(task.parentID)
        append(",\"position\":")
        appendNumber(task.position)
        append(",\"priority\":\"")
        appendUnescaped(fields.priority.rawValue)
        append("\",\"project_id\":")
        appendOptionalID(task.projectID)
        append(",\"recurrence\":")
        appendRecurrence(fields.recurrence)
        append(",\"remind_at\":")
        appendTime(fields.remindAt)
        append(",\"subtask_count\":")
        appendInteger(task.subtaskCount)
        append(",\"subtasks_done\":")
        appendInteger(task.subtasksDone)
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

    /// An id as a string, or null.
    mutating func appendOptionalID(_ id: Int64?) {
        guard let id else { return append("null") }
        append("\"")
        appendInteger(id)
        append("\"")
    }

    /// A number as `JSONEncoder` writes it: a whole number without a fraction; null for none.
    mutating func appendNumber(_ number: Double?) {
        guard let number, number.isFinite else { return append("null") }
        if number == number.rounded(), abs(number) < 1e15 { appendInteger(Int64(number)) } else { appendUnescaped(number.description) }
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
        appendUnescaped(recurrence.frequency.rawValue)
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
}
