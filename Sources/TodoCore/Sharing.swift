import Foundation

/// A member of a project, as its members see them.
public struct ProjectMember: Sendable, Equatable, Encodable {
    public var userID: UserID
    public var email: String
    public var name: String?
    public var role: ProjectRole

    public init(userID: UserID, email: String, name: String?, role: ProjectRole) {
        self.userID = userID
        self.email = email
        self.name = name
        self.role = role
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id", email, name, role
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(userID, forKey: .userID)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
    }
}

/// An invitation to a project, addressed to an e-mail address (lowercase) whether or not an
/// account has it: the account that had the address when it was invited sees it; anyone else
/// needs its link.
public struct ProjectInvitation: Sendable, Equatable, Encodable {
    public var id: String
    public var projectID: ProjectID
    public var email: String
    public var role: ProjectRole
    public var createdAt: Timestamp

    public init(id: String, projectID: ProjectID, email: String, role: ProjectRole, createdAt: Timestamp) {
        self.id = id
        self.projectID = projectID
        self.email = email
        self.role = role
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, email, role, createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(role, forKey: .role)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// An invitation as its invitee sees it: which project, which role, from whom.
public struct ReceivedInvitation: Sendable, Equatable, Encodable {
    public var id: String
    public var projectID: ProjectID
    public var projectName: String
    public var role: ProjectRole
    public var inviterName: String?
    public var inviterEmail: String

    public init(id: String, projectID: ProjectID, projectName: String, role: ProjectRole, inviterName: String?, inviterEmail: String) {
        self.id = id
        self.projectID = projectID
        self.projectName = projectName
        self.role = role
        self.inviterName = inviterName
        self.inviterEmail = inviterEmail
    }

    enum CodingKeys: String, CodingKey {
        case id, project, role, invitedBy = "invited_by"
    }

    enum NamedKeys: String, CodingKey {
        case id, name, email
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        var project = container.nestedContainer(keyedBy: NamedKeys.self, forKey: .project)
        try project.encode(String(projectID), forKey: .id)
        try project.encode(projectName, forKey: .name)
        try container.encode(role, forKey: .role)
        var inviter = container.nestedContainer(keyedBy: NamedKeys.self, forKey: .invitedBy)
        try inviter.encode(inviterName, forKey: .name)
        try inviter.encode(inviterEmail, forKey: .email)
    }
}

/// The body of `POST .../projects/{id}/invitations`: `{email, role}`.
public struct NewInvitation: Sendable, Equatable {
    public var email: String
    public var role: ProjectRole

    public init(email: String, role: ProjectRole) {
        self.email = email
        self.role = role
    }

    public init(json: JSONValue) throws(ValidationError) {
        guard case .object(let object) = json else { throw ValidationError(field: "body", "must be a JSON object") }
        var issues = IssueCollector()
        for key in object.keys.sorted() where key != "email" && key != "role" { issues.add(key, "unknown field") }
        var email: String?
        switch object["email"] {
        case .string(let raw)?:
            do { email = try Credentials.normalizedEmail(raw) } catch { issues.issues += error.issues }
        case nil: issues.add("email", "is required")
        default: issues.add("email", "must be a string")
        }
        let role = MemberRole.read(object["role"], &issues)
        try issues.throwIfAny()
        self.init(email: email!, role: role!)
    }
}

/// The body of `PATCH .../projects/{id}/members/{user_id}`: `{role}`.
public enum MemberRole {
    public static func parse(json: JSONValue) throws(ValidationError) -> ProjectRole {
        guard case .object(let object) = json else { throw ValidationError(field: "body", "must be a JSON object") }
        var issues = IssueCollector()
        for key in object.keys.sorted() where key != "role" { issues.add(key, "unknown field") }
        let role = read(object["role"], &issues)
        try issues.throwIfAny()
        return role!
    }

    static func read(_ value: JSONValue?, _ issues: inout IssueCollector) -> ProjectRole? {
        guard let value else {
            issues.add("role", "is required")
            return nil
        }
        guard case .string(let text) = value, let role = ProjectRole(rawValue: text) else {
            issues.add("role", "must be owner, editor or viewer")
            return nil
        }
        return role
    }
}

/// What became of a change of membership (invite, change of role, removal, leaving).
public enum MembershipOutcome: Sendable, Equatable {
    case done
    /// The caller is not a member of the project (or there is no such project).
    case notFound
    /// The caller's role does not allow this.
    case forbidden
    /// The member named is not a member of the project.
    case noSuchMember
    /// The change would leave the project without an owner.
    case lastOwner
    /// The Inbox is its owner's alone.
    case isInbox
    /// The address invited is a member's already.
    case alreadyMember
}
