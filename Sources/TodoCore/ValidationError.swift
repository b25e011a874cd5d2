/// One problem with one field of a request.
public struct FieldIssue: Sendable, Equatable, Codable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// Input that breaks the rules of the domain. Carries every problem found, not just the first.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [FieldIssue]

    public init(_ issues: [FieldIssue]) {
        self.issues = issues
    }

    public init(field: String, _ message: String) {
        self.issues = [FieldIssue(field: field, message: message)]
    }

    public var summary: String {
        issues.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
    }

    public var description: String { summary }
}

/// Collects issues while a request body is read, then throws them all at once.
struct IssueCollector {
    var issues: [FieldIssue] = []

    mutating func add(_ field: String, _ message: String) {
        issues.append(FieldIssue(field: field, message: message))
    }

    func throwIfAny() throws(ValidationError) {
        if !issues.isEmpty { throw ValidationError(issues) }
    }
}

/// A setting that cannot work; the process refuses to start and says why.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
