import Logging
import Prometheus
import TodoCore
import TodoMail
import TodoStore

/// What follows a mail attempt: sent delivers; a 5xx refusal is for good; a 4xx refusal (451,
/// "try again later"), no connection or a timeout are retried on the schedule every outbox shares.
enum MailRetry {
    static func outcome(after mail: DueMail, replyCode: Int?, at now: Timestamp) -> DeliveryOutcome {
        switch replyCode {
        case .some(500...): .abandoned
        default: Outbound.retry(attempt: mail.attempt, eventTime: mail.eventTime, retryAfterSeconds: nil, at: now)
        }
    }
}

/// Sends queued mails (reminders and daily digests) through the account mailer, for a
/// `DeliveryService`. Each mail's Message-ID names its delivery (`reminder-<event id>.<user id>`),
/// so a mail sent again after a replica died mid-send is the same message to a mail client.
struct MailSender: Sendable {
    let mail: any MailStore
    let tasks: any TaskStore
    let mailer: any Mailer
    /// `PUBLIC_WEB_URL`, where task links point; without it they are paths.
    let webURL: String?
    let logger: Logger

    func send(_ due: DueMail) async {
        var replyCode: Int?
        var outcome: DeliveryOutcome
        do {
            if let message = try await message(for: due) {
                try await mailer.send(message)
                outcome = .delivered(at: .now())
                replyCode = 250
            } else {
                outcome = .abandoned  // turned off since, the task is gone, or nothing is due today
            }
        } catch {
            replyCode = (error as? MailError)?.replyCode
            outcome = MailRetry.outcome(after: due, replyCode: replyCode, at: .now())
            logger.info("mail not delivered", metadata: ["user_id": "\(due.userID)", "delivery": "\(due.key)", "error": "\(error)"])
        }
        Self.attempts(outcome).increment()
        do {
            try await mail.recordAttempt(userID: due.userID, key: due.key, status: replyCode, outcome: outcome)
        } catch {
            logger.warning("mail attempt not recorded", metadata: ["user_id": "\(due.userID)", "delivery": "\(due.key)", "error": "\(error)"])
        }
    }

    /// The mail, or nil when there is none to send.
    func message(for due: DueMail) async throws -> MailMessage? {
        let settings = due.settings
        let text: MailText
        switch due.content {
        case .reminder(_, let taskID):
            guard settings.emailReminders, let task = try await tasks.task(id: taskID, userID: due.userID), !task.fields.completed else { return nil }
            text = MailText.reminder(for: task, in: settings.zone, zoneName: settings.timeZone, link: link(to: taskID))
        case .digest(let date):
            guard settings.dailyDigest, let day = DigestSchedule.bounds(of: date, in: settings.zone) else { return nil }
            var query = TaskQuery()
            query.status = .pending
            query.dueBefore = day.end
            query.sort = TaskQuery.Sort(field: .due, descending: false)
            query.limit = TaskQuery.maximumLimit
            let page = try await tasks.listTasks(userID: due.userID, query: query)
            guard let digest = DailyDigest(date: date, zone: settings.zone, tasks: page.items) else { return nil }
            text = digest.text(in: settings.zone, zoneName: settings.timeZone, link: link(to:))
        }
        return MailMessage(to: due.email, subject: text.subject, body: text.body, messageID: "\(due.key).\(due.userID)")
    }

    func link(to taskID: TaskID) -> String {
        let base = webURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? ""
        return base + "/tasks/" + String(taskID)
    }

    static func attempts(_ outcome: DeliveryOutcome) -> Counter {
        Outbound.attempts("mail_attempts", help: "Reminder and digest mail attempts by what followed: delivered, retry, abandoned", outcome: outcome)
    }
}
