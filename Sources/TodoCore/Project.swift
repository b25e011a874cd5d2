import Foundation

public typealias ProjectID = Int64

/// What a member may do in a project. Every read and write of a task or project is decided by
/// the caller's membership and this role, in the statement itself (`ProjectStore`, `TaskStore`).
public enum ProjectRole: String, Sendable, Codable, CaseIterable {
    /// Everything an editor does, and rename, colour, archive, delete and (later) share the project.
    case owner
    /// Add, edit, complete, move and delete the project's tasks.
    case editor
    /// Read only.
    case viewer

    /// Whether the role may write the project's tasks.
    public var writesTasks: Bool { self != .viewer }
}

/// A project as one member sees it: its shared fields, plus that member's role and place in
/// their own sidebar, plus counts of its open and overdue tasks.
public struct Project: Sendable, Equatable, Codable {
    public var id: ProjectID
    public var name: String
    /// `#rrggbb` (lowercase), or nil for the default colour.
    public var color: String?
    /// The member's own order of their projects (`ManualOrder`).
    public var position: Double
    public var archived: Bool
    /// Every account has exactly one Inbox: tasks created without a project go there; it
    /// cannot be deleted or archived.
    public var isInbox: Bool
    public var role: ProjectRole
    /// Tasks not completed.
    public var openCount: Int
    /// Tasks not completed whose due time has passed.
    public var overdueCount: Int
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: ProjectID, name: String, color: String?, position: Double, archived: Bool, isInbox: Bool, role: ProjectRole,
        openCount: Int, overdueCount: Int, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.color = color
        self.position = position
        self.archived = archived
        self.isInbox = isInbox
        self.role = role
        self.openCount = openCount
        self.overdueCount = overdueCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, color, position, archived, role
        case isInbox = "is_inbox", openCount = "open_count", overdueCount = "overdue_count"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(id), forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(color, forKey: .color)
        try container.encode(position, forKey: .position)
        try container.encode(archived, forKey: .archived)
        try container.encode(isInbox, forKey: .isInbox)
        try container.encode(role, forKey: .role)
        try container.encode(openCount, forKey: .openCount)
        try container.encode(overdueCount, forKey: .overdueCount)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let id = ProjectID(try container.decode(String.self, forKey: .id)) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: container, debugDescription: "not a project id")
        }
        self.init(
            id: id, name: try container.decode(String.self, forKey: .name), color: try container.decodeIfPresent(String.self, forKey: .color),
            position: try container.decode(Double.self, forKey: .position), archived: try container.decode(Bool.self, forKey: .archived),
            isInbox: try container.decode(Bool.self, forKey: .isInbox), role: try container.decode(ProjectRole.self, forKey: .role),
            openCount: try container.decode(Int.self, forKey: .openCount), overdueCount: try container.decode(Int.self, forKey: .overdueCount),
            createdAt: try container.decode(Timestamp.self, forKey: .createdAt), updatedAt: try container.decode(Timestamp.self, forKey: .updatedAt))
    }
}

extension Collection<Project> {
    /// The project called `name` in any case (as quick add's `+Groceries` and the assistant name
    /// one); of several so called, the first not archived.
    public func named(_ name: String) -> Project? {
        let named = filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        return named.first { !$0.archived } ?? named.first
    }
}

/// Limits and formats of the project fields; the OpenAPI document states the same.
public enum ProjectLimits {
    public static let nameLength = 1...100
    /// Projects a user may create (the Inbox not counted).
    public static let maximumProjects = 500
}

/// Manual order, of tasks in a project and of a member's projects: a `position` number per item,
/// ascending. A new item goes to the end (the list's largest position plus `step`); a client
/// moves an item by writing a position between its new neighbours', which touches that one row.
/// When the two neighbours are so close that no number lies between them (after some fifty
/// halvings of the same gap), the written position equals a neighbour's; the server then
/// renumbers that one list in steps of `step`, keeping its order (rare, and the only write that
/// touches more than one row).
public enum ManualOrder {
    public static let step: Double = 1024
}

/// The body of `POST /api/{user_id}/projects`.
public struct NewProject: Sendable, Equatable {
    public var name: String
    public var color: String?

    public init(name: String, color: String? = nil) {
        self.name = name
        self.color = color
    }

    public init(json: JSONValue) throws(ValidationError) {
        let patch = try ProjectPatch(json: json, allowed: ["name", "color"], ignored: [])
        guard let name = patch.name else { throw ValidationError(field: "name", "is required") }
        self.init(name: name, color: patch.color ?? nil)
    }
}

/// A partial change of a project (`PATCH`): absent fields stay; `color: null` resets the colour.
/// `position` is the caller's own order; the other fields are the project's and need its owner.
public struct ProjectPatch: Sendable, Equatable {
    public var name: String?
    public var color: String??
    public var position: Double?
    public var archived: Bool?

    public init(name: String? = nil, color: String?? = nil, position: Double? = nil, archived: Bool? = nil) {
        self.name = name
        self.color = color
        self.position = position
        self.archived = archived
    }

    /// Whether the patch changes the project itself (owners only), not just the caller's order.
    public var changesProject: Bool { name != nil || color != nil || archived != nil }

    /// Fields the server owns: a client may send them back after a GET; they are ignored.
    static let readOnlyFields: Set<String> = ["id", "is_inbox", "role", "open_count", "overdue_count", "created_at", "updated_at"]

    public init(json: JSONValue) throws(ValidationError) {
        try self.init(json: json, allowed: ["name", "color", "position", "archived"], ignored: Self.readOnlyFields)
    }

    /// Reads the `allowed` fields; `ignored` ones are skipped, any other is an unknown field.
    init(json: JSONValue, allowed: Set<String>, ignored: Set<String>) throws(ValidationError) {
        guard case .object(let object) = json else { throw ValidationError(field: "body", "must be a JSON object") }
        var issues = IssueCollector()
        for key in object.keys.sorted() where !allowed.contains(key) && !ignored.contains(key) {
            issues.add(key, "unknown field")
        }
        if let value = object["name"] {
            if case .string(let raw) = value {
                let text = TextRules.trimmed(raw)
                if TextRules.hasForbiddenControl(text, allowingLineBreaks: false) {
                    issues.add("name", "must not contain control characters or line breaks")
                } else if !ProjectLimits.nameLength.contains(text.count) {
                    issues.add("name", "must be 1 to \(ProjectLimits.nameLength.upperBound) characters")
                } else {
                    name = text
                }
            } else {
                issues.add("name", "must be a string")
            }
        }
        if let value = object["color"] {
            switch value {
            case .null: color = .some(nil)
            case .string(let text) where Self.isColor(text): color = .some(text.lowercased())
            default: issues.add("color", "must be a colour such as #3b82f6 (#rrggbb) or null")
            }
        }
        if let value = object["position"] {
            switch value {
            case .integer(let number): position = Double(number)
            case .number(let number) where number.isFinite: position = number
            default: issues.add("position", "must be a number")
            }
        }
        if let value = object["archived"] {
            if case .bool(let flag) = value { archived = flag } else { issues.add("archived", "must be a boolean") }
        }
        try issues.throwIfAny()
    }

    /// `#` and six hexadecimal digits.
    static func isColor(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 7, scalars[0] == "#" else { return false }
        return scalars.dropFirst().allSatisfy { $0.properties.isASCIIHexDigit }
    }
}
