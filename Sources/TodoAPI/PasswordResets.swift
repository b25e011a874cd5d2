import Foundation
import Logging
import TodoCore
import TodoMail
import TodoStore

/// One-time password-reset links: `<web URL>/reset?token=…`. The token is 256 random bits, stored
/// only as its SHA-256; it works for `PasswordReset.lifetime`, once, and not after any other
/// password change (the stores delete an account's resets with every change).
public struct PasswordResetLinks: Sendable {
    let store: any PasswordResetStore
    /// The web UI's public address, such as `https://todo.example`.
    let webURL: String

    public init(store: any PasswordResetStore, webURL: String) {
        self.store = store
        self.webURL = webURL
    }

    /// A new link for the account; nil when it does not exist or is disabled.
    public func make(for userID: UserID, at now: Timestamp = .now()) async throws -> String? {
        let token = SecretTokens.random()
        let reset = PasswordReset(tokenHash: SecretTokens.hash(token), userID: userID, createdAt: now,
                                  expiresAt: now.adding(milliseconds: PasswordReset.lifetime.milliseconds))
        guard try await store.createPasswordReset(reset) else { return nil }
        let base = webURL.hasSuffix("/") ? String(webURL.dropLast()) : webURL
        return base + "/reset?token=" + token
    }
}

/// Sends reset mails, at most `accountLimit` an hour per e-mail address and `addressLimit` an
/// hour per client address (counted first, so that an address over its budget cannot spend the
/// budgets of accounts). Works in the background: the caller's answer neither waits for it nor
/// tells whether the e-mail has an account.
struct ResetMailer: Sendable {
    let mailer: any Mailer
    let links: PasswordResetLinks
    let accounts: any AccountStore
    let perAccount: AttemptLimit
    let perAddress: AttemptLimit

    static let accountLimit = 3
    static let addressLimit = 10

    /// Nil when the configuration has no mailer or no web URL to link to.
    init?(_ configuration: APIConfiguration, accounts: any AccountStore, resets: any PasswordResetStore, attempts: any AttemptStore) {
        guard let mailer = configuration.mailer, let webURL = configuration.publicWebURL else { return nil }
        self.mailer = mailer
        self.accounts = accounts
        links = PasswordResetLinks(store: resets, webURL: webURL)
        perAccount = AttemptLimit(attempts: attempts, name: "reset.account", limit: Self.accountLimit, window: .seconds(3600))
        perAddress = AttemptLimit(attempts: attempts, name: "reset.address", limit: Self.addressLimit, window: .seconds(3600))
    }

    func sendInBackground(to email: String, from address: String?, logger: Logger) {
        Task { await send(to: email, from: address, logger: logger) }
    }

    /// Failures are logged, never with the link.
    func send(to email: String, from address: String?, logger: Logger) async {
        do {
            if try await address.asyncFlatMap({ try await perAddress.admit($0) }) != nil { return logger.notice("reset mail throttled: client address") }
            if try await perAccount.admit(email) != nil { return logger.notice("reset mail throttled: account") }
            guard let stored = try await accounts.credentials(email: email), !stored.disabled,
                  let link = try await links.make(for: stored.user.id)
            else { return }
            try await mailer.send(Self.message(to: stored.user.email, link: link))
            logger.info("password reset mail sent", metadata: ["user_id": "\(stored.user.id)"])
        } catch {
            logger.error("password reset mail failed", metadata: ["error": "\(error)"])
        }
    }

    static func message(to email: String, link: String) -> MailMessage {
        let minutes = PasswordReset.lifetime.components.seconds / 60
        return MailMessage(to: email, subject: "Reset your Todo password", body: """
            Someone, probably you, asked to reset the password of the Todo account \(email).

            To choose a new password, open this link within \(minutes) minutes:

            \(link)

            The link works once. If you did not ask for it, ignore this mail: your password stays as it is.
            """)
    }
}
