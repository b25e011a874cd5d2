import Foundation

/// Where and how mail is sent: `SMTP_URL` and `MAIL_FROM`.
///
/// - `smtps://user:password@host[:465]`: TLS from the first byte (implicit TLS).
/// - `smtp://[user:password@]host[:25]`: plain at first; STARTTLS whenever the server offers it.
///   A server that does not offer it gets no password: with credentials in the URL the mail is
///   not sent (a relay that strips STARTTLS cannot read the password); without credentials (a
///   relay on the same host or network) the mail goes in plain text.
///
/// The user and password are percent-decoded (`%40` for `@`). The server's certificate is
/// checked against the system's trust store, or against `caFile` when set (`SMTP_CA_FILE`).
public struct SMTPConfiguration: Sendable, Equatable {
    public enum Security: Sendable, Equatable {
        case implicitTLS
        case startTLSWhenOffered
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var user: String?
    public var password: String?
    /// The envelope sender and the `From:` header: `todo@example.com` or `Todo <todo@example.com>`.
    public var from: String
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// How long one mail may take, connection to QUIT.
    public var timeout: Duration = .seconds(30)

    public init(url text: String, from: String, caFile: String? = nil) throws(MailError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil
        else { throw MailError("SMTP_URL must look like smtp://host:587 or smtps://user:password@host:465") }
        switch scheme {
        case "smtps": security = .implicitTLS
        case "smtp": security = .startTLSWhenOffered
        default: throw MailError("SMTP_URL must start with smtp:// or smtps://, got '\(scheme)://'")
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? (security == .implicitTLS ? 465 : 25)
        user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        guard user == nil || password != nil else { throw MailError("SMTP_URL names a user without a password") }
        guard !from.contains(where: \.isNewline), SMTPMessageFormat.address(in: from) != nil else {
            throw MailError("MAIL_FROM must be an e-mail address such as todo@example.com or Todo <todo@example.com>, got '\(from)'")
        }
        self.from = from
        self.caFile = caFile
    }

    /// The address of `from`, for `MAIL FROM:<…>`.
    var senderAddress: String { SMTPMessageFormat.address(in: from) ?? from }
}
