import Foundation

/// An account.
public struct User: Sendable, Equatable, Codable {
    public var id: UserID
    public var email: String
    public var name: String?
    public var createdAt: Timestamp
    /// Admins see every account in the web UI, disable them and send invitations.
    public var admin: Bool

    public init(id: UserID, email: String, name: String?, createdAt: Timestamp, admin: Bool = false) {
        self.id = id
        self.email = email
        self.name = name
        self.createdAt = createdAt
        self.admin = admin
    }

    enum CodingKeys: String, CodingKey {
        case id, email, name, admin
        case createdAt = "created_at"
    }

    /// `admin` is absent from the answers of servers older than it: false.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UserID.self, forKey: .id)
        email = try container.decode(String.self, forKey: .email)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        admin = try container.decodeIfPresent(Bool.self, forKey: .admin) ?? false
    }

    /// `name` is always present, `null` when unset.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(admin, forKey: .admin)
    }
}

/// The rules for sign-up and log-in input.
public enum Credentials {
    /// bcrypt reads at most 72 bytes; longer passwords are rejected rather than silently cut.
    public static let passwordBytes = 8...72
    public static let nameMaxLength = 100
    public static let emailMaxLength = 254

    /// Trimmed and lowercased, so that `Ann@Example.com` and `ann@example.com` are one account.
    public static func normalizedEmail(_ raw: String) throws(ValidationError) -> String {
        let email = TextRules.trimmed(raw).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let valid = email.count <= emailMaxLength && parts.count == 2 && !parts[0].isEmpty
            && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !email.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
        guard valid else { throw ValidationError(field: "email", "must be an e-mail address such as ann@example.com") }
        return email
    }

    public static func checkNewPassword(_ password: String) throws(ValidationError) {
        guard passwordBytes.contains(password.utf8.count) else {
            throw ValidationError(field: "password", "must be 8 to 72 bytes long in UTF-8 (8 to 72 ASCII characters)")
        }
        guard isAcceptablePassword(password) else { throw ValidationError(field: "password", "must not contain NUL (U+0000)") }
    }

    /// bcrypt reads a password up to its first NUL: "secret\0anything" would match "secret",
    /// so passwords with NUL are refused rather than silently cut.
    public static func isAcceptablePassword(_ password: String) -> Bool {
        !password.utf8.contains(0)
    }

    public static func normalizedName(_ raw: String?) throws(ValidationError) -> String? {
        guard let raw else { return nil }
        let name = TextRules.trimmed(raw)
        if name.isEmpty { return nil }
        guard name.count <= nameMaxLength, !TextRules.hasForbiddenControl(name, allowingLineBreaks: false) else {
            throw ValidationError(field: "name", "must be at most \(nameMaxLength) characters without control characters")
        }
        return name
    }
}

extension Timestamp {
    /// The current time from the system clock.
    public static func now() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
