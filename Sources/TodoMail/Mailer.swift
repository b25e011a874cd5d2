import Foundation

/// A plain-text mail to one recipient.
public struct MailMessage: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var body: String

    public init(to: String, subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }
}

/// Sends mail. The API sends password-reset links through it; tests may record instead.
public protocol Mailer: Sendable {
    func send(_ message: MailMessage) async throws
}

public struct MailError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
