import Logging
import TodoCore
import TodoMail
import TodoStore

/// The link that claims a project invitation: `/invitations/{id}?token=…` on the web app. Sign-up
/// does not prove an address, so an invitee without an account yet proves it by holding this
/// link, mailed to the address when the server sends mail (`SMTP_URL`) and otherwise passed on
/// by the owner, who gets it in the answer.
struct InvitationLinks: Sendable {
    /// `PUBLIC_WEB_URL`; without it a link is a path on the web app.
    let webURL: String?
    /// Nil when the server sends no mail.
    let mailer: (any Mailer)?
    let accounts: any AccountStore
    /// Mails per inviter: with open sign-up, anyone could otherwise make this server mail any
    /// address as often as they like.
    let perInviter: AttemptLimit

    static let mailsPerHour = 20

    init(webURL: String?, mailer: (any Mailer)?, accounts: any AccountStore, attempts: any AttemptStore) {
        self.webURL = webURL
        self.mailer = mailer
        self.accounts = accounts
        perInviter = AttemptLimit(attempts: attempts, name: "invitation.mail", limit: Self.mailsPerHour, window: .seconds(3600))
    }

    var sendsMail: Bool { mailer != nil }

    func link(id: String, token: String) -> String {
        let base = webURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? ""
        return "\(base)/invitations/\(id)?token=\(token)"
    }

    /// Mails the link after the answer, so the answer's timing says nothing either; false when
    /// there is no mail to send, or the inviter sent their hour's share. Failures are logged,
    /// never with the link.
    func mailInBackground(_ invitation: NewInvitation, link: String, project: Project, by inviter: UserID, logger: Logger) async throws -> Bool {
        guard let mailer else { return false }
        if try await perInviter.admit(inviter) != nil {
            logger.notice("invitation mail throttled", metadata: ["user_id": "\(inviter)"])
            return false
        }
        Task {
            do {
                let from = try await accounts.user(id: inviter)
                try await mailer.send(Self.message(invitation, link: link, project: project.name, inviter: from))
                logger.info("invitation mailed", metadata: ["project_id": "\(project.id)"])
            } catch {
                logger.error("invitation mail failed", metadata: ["project_id": "\(project.id)", "error": "\(error)"])
            }
        }
        return true
    }

    static func message(_ invitation: NewInvitation, link: String, project: String, inviter: User?) -> MailMessage {
        let who = inviter.map { user in user.name.map { "\($0) (\(user.email))" } ?? user.email } ?? "Someone"
        return MailMessage(to: invitation.email, subject: "\(who) shared “\(project)” with you", body: """
            \(who) invited \(invitation.email) to the Todo project “\(project)” as \(invitation.role.article) \(invitation.role.rawValue).

            To join, open this link and log in (or create an account):

            \(link)

            The link works once. If you do not know the sender, ignore this mail.
            """)
    }
}

extension ProjectRole {
    /// "an" owner or editor, "a" viewer.
    var article: String { self == .viewer ? "a" : "an" }
}
