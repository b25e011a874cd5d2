import Foundation

/// Which tasks to list, in which order, and which page.
public struct TaskQuery: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case all, pending, completed
    }

    public enum SortField: String, Sendable, CaseIterable {
        case created, updated, due, priority, title
        /// The manual order (`ManualOrder`), meant for one project's list (`project=`).
        case position
    }

    /// Which tasks by their parent.
    public enum ParentFilter: Sendable, Equatable {
        /// Tasks that are no sub-task (`parent=none`).
        case topLevel
        /// The sub-tasks of one task.
        case task(TaskID)
    }

    public struct Sort: Sendable, Equatable {
        public var field: SortField
        public var descending: Bool

        public init(field: SortField, descending: Bool) {
            self.field = field
            self.descending = descending
        }

        /// `created`, `-created` (descending), ... as used by the `sort` query parameter.
        public var parameterValue: String { (descending ? "-" : "") + field.rawValue }
    }

    public static let defaultLimit = 50
    public static let maximumLimit = 200
    public static let maximumSearchLength = 200

    public var status: Status = .all
    /// Any of these priorities; empty means any priority.
    public var priorities: [Priority] = []
    /// Tasks carrying every one of these tags.
    public var tags: [String] = []
    /// Due at or after this time (inclusive).
    public var dueAfter: Timestamp?
    /// Due before this time (exclusive).
    public var dueBefore: Timestamp?
    /// A keyword found in the title or the description, case-insensitively.
    public var search: String?
    /// Only the tasks of this project (the caller must be a member).
    public var project: ProjectID?
    public var parent: ParentFilter?
    /// Only tasks assigned to the caller (`assignee=me`).
    public var assignedToCaller = false
    public var sort = Sort(field: .created, descending: true)
    public var limit = TaskQuery.defaultLimit
    public var cursor: TaskCursor?

    public init() {}
}

/// The position after the last task of a page: the sort key of that task and its id.
/// Keyset pagination stays fast on deep pages and stable while tasks are added.
public struct TaskCursor: Sendable, Equatable, Codable {
    public enum Key: Sendable, Equatable, Codable {
        case integer(Int64)
        /// A position (`sort=position`).
        case number(Double)
        case text(String)
        /// The task had no value for the sort field (a task without a due date).
        case none
    }

    public var sort: String
    public var key: Key
    public var id: TaskID

    public init(sort: TaskQuery.Sort, key: Key, id: TaskID) {
        self.sort = sort.parameterValue
        self.key = key
        self.id = id
    }

    /// An opaque, URL-safe string: base64url of the cursor's JSON, which `init?(token:)` reads
    /// with `JSONDecoder`. It is written directly: `JSONEncoder` was 2 % of a list request.
    public var token: String {
        var json = JSONBytes(capacity: 96)
        json.append("{\"sort\":")
        json.appendString(sort)
        switch key {
        case .integer(let value):
            json.append(",\"key\":{\"integer\":{\"_0\":")
            json.appendInteger(value)
            json.append("}}")
        case .text(let value):
            json.append(",\"key\":{\"text\":{\"_0\":")
            json.appendString(value)
            json.append("}}")
        case .number(let value):
            json.append(",\"key\":{\"number\":{\"_0\":")
            json.appendUnescaped(value.description)
            json.append("}}")
        case .none: json.append(",\"key\":{\"none\":{}}")
        }
        json.append(",\"id\":")
        json.appendInteger(id)
        json.append("}")
        return Self.base64URL(json.bytes)
    }

    private static let base64URLDigits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Base64url without padding.
    private static func base64URL(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: (bytes.count * 4 + 2) / 3) { output in
            var written = 0
            for start in stride(from: 0, to: bytes.count, by: 3) {
                let count = min(3, bytes.count - start)
                var group = UInt32(bytes[start]) << 16
                if count > 1 { group |= UInt32(bytes[start + 1]) << 8 }
                if count > 2 { group |= UInt32(bytes[start + 2]) }
                for digit in 0...count {
                    output[written] = base64URLDigits[Int(group >> (18 - 6 * UInt32(digit)) & 63)]
                    written += 1
                }
            }
            return written
        }
    }

    public init?(token: String) {
        guard token.utf8.count <= 2048 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
              let cursor = try? JSONDecoder().decode(TaskCursor.self, from: data)
        else { return nil }
        self = cursor
    }
}

extension TaskQuery {
    /// Reads the query parameters of the list route. Parameters may repeat
    /// (`tag=a&tag=b`) or hold comma-separated lists (`priority=high,medium`).
    public init(parameters: [(name: String, value: String)]) throws(ValidationError) {
        self.init()
        var issues = IssueCollector()
        func values(_ name: String) -> [String] {
            parameters.filter { $0.name == name }
                .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: true).map(String.init) }
        }
        let known: Set<String> = [
            "status", "priority", "tag", "due_after", "due_before", "q", "sort", "limit", "cursor", "project", "parent", "assignee",
        ]
        for name in Set(parameters.map(\.name)).sorted() where !known.contains(name) {
            issues.add(name, "unknown query parameter")
        }
        if let raw = parameters.last(where: { $0.name == "status" })?.value {
            if let value = Status(rawValue: raw) { status = value } else {
                issues.add("status", "must be one of all, pending, completed")
            }
        }
        for raw in values("priority") {
            if let value = Priority(rawValue: raw) {
                if !priorities.contains(value) { priorities.append(value) }
            } else {
                issues.add("priority", "must be one of high, medium, low, none")
            }
        }
        for raw in values("tag") {
            switch Tag.normalized(raw) {
            case .success(let tag): if !tags.contains(tag) { tags.append(tag) }
            case .failure(let problem): issues.add("tag", problem.message)
            }
        }
        if tags.count > TaskLimits.maxTags { issues.add("tag", "at most \(TaskLimits.maxTags) tags") }
        for (name, target) in [("due_after", \TaskQuery.dueAfter), ("due_before", \TaskQuery.dueBefore)] {
            guard let raw = parameters.last(where: { $0.name == name })?.value else { continue }
            if let time = Timestamp(rfc3339: raw) { self[keyPath: target] = time } else {
                issues.add(name, "must be an RFC 3339 time such as 2026-01-31T09:00:00Z")
            }
        }
        if let raw = parameters.last(where: { $0.name == "q" })?.value {
            let text = TextRules.trimmed(raw)
            if text.count > Self.maximumSearchLength || TextRules.hasForbiddenControl(text, allowingLineBreaks: false) {
                issues.add("q", "must be at most \(Self.maximumSearchLength) characters without control characters")
            } else if !text.isEmpty {
                search = text
            }
        }
        if let raw = parameters.last(where: { $0.name == "project" })?.value {
            if let id = ProjectID(raw), id > 0 { project = id } else { issues.add("project", "must be a project id") }
        }
        if let raw = parameters.last(where: { $0.name == "parent" })?.value {
            if raw == "none" { parent = .topLevel } else if let id = TaskID(raw), id > 0 { parent = .task(id) } else {
                issues.add("parent", "must be a task id, or none for tasks that are no sub-task")
            }
        }
        if let raw = parameters.last(where: { $0.name == "assignee" })?.value {
            if raw == "me" { assignedToCaller = true } else { issues.add("assignee", "must be me") }
        }
        if let raw = parameters.last(where: { $0.name == "sort" })?.value {
            let descending = raw.hasPrefix("-")
            if let field = SortField(rawValue: descending ? String(raw.dropFirst()) : raw) {
                sort = Sort(field: field, descending: descending)
            } else {
                issues.add("sort", "must be one of created, updated, due, priority, title, position, optionally prefixed with - for descending order")
            }
        }
        if let raw = parameters.last(where: { $0.name == "limit" })?.value {
            if let value = Int(raw), (1...Self.maximumLimit).contains(value) { limit = value } else {
                issues.add("limit", "must be a whole number from 1 to \(Self.maximumLimit)")
            }
        }
        if let raw = parameters.last(where: { $0.name == "cursor" })?.value {
            if let value = TaskCursor(token: raw), value.sort == sort.parameterValue, value.key.fits(sort.field) {
                cursor = value
            } else {
                issues.add("cursor", "is not a cursor returned by this list with this sort order")
            }
        }
        try issues.throwIfAny()
    }
}

extension TaskCursor.Key {
    /// Whether a decoded cursor key has the type the sort field produces (a forged cursor may not).
    func fits(_ field: TaskQuery.SortField) -> Bool {
        switch (field, self) {
        case (.title, .text), (.created, .integer), (.updated, .integer), (.priority, .integer): true
        case (.due, .integer), (.due, .none), (.position, .number): true
        default: false
        }
    }
}

/// One page of a list.
public struct TaskPage: Sendable, Equatable {
    public var items: [TodoTask]
    public var nextCursor: TaskCursor?

    public init(items: [TodoTask], nextCursor: TaskCursor?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}
