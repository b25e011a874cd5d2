import Foundation

/// A plain-text mail to one recipient.
public struct MailMessage: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var body: String
    /// The left part of the `Message-ID` (`reminder-42.u1`), which the mailer completes with
    /// `@<the sender's domain>`; nil: a random one. A notification names its delivery here, so a
    /// mail sent again after a crash keeps its id and mail clients recognise the repeat.
    public var messageID: String?

    public init(to: String, subject: String, body: String, messageID: String? = nil) {
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
    }
}

/// Sends mail. The API sends password-reset links through it; tests may record instead.
public protocol Mailer: Sendable {
    func send(_ message: MailMessage) async throws
}

public struct MailError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// The SMTP reply code that refused the mail (4xx: try again later, 5xx: for good); nil when
    /// there was no refusal (no connection, a timeout, a broken reply).
    public var replyCode: Int?

    public init(_ description: String, replyCode: Int? = nil) {
        self.description = description
        self.replyCode = replyCode
    }
}
