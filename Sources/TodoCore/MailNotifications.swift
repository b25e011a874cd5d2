import Foundation

/// A user's e-mail notifications: a mail for each due reminder, and a daily digest of what is due
/// today, sent at `digestTime` in `timeZone`. Both off until the user turns them on.
public struct NotificationSettings: Sendable, Equatable {
    public var emailReminders: Bool
    public var dailyDigest: Bool
    public var digestTime: DigestTime
    /// An IANA zone name (`Europe/Paris`): the digest's hour and the times mails show are local to it.
    public var timeZone: String

    public init(emailReminders: Bool = false, dailyDigest: Bool = false, digestTime: DigestTime = .init(hour: 7, minute: 0)!, timeZone: String = "UTC") {
        self.emailReminders = emailReminders
        self.dailyDigest = dailyDigest
        self.digestTime = digestTime
        self.timeZone = timeZone
    }

    public var sendsMail: Bool { emailReminders || dailyDigest }

    /// The zone, UTC when the stored name is no longer known to this system.
    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }

    /// When the next digest goes out after `now`, or nil when the digest is off.
    public func nextDigest(after now: Timestamp) -> Timestamp? {
        dailyDigest ? DigestSchedule.next(digestTime, in: zone, after: now) : nil
    }

    /// A zone name as `TimeZone` knows it, at most 64 characters (`Area/City`, `UTC`).
    public static func isKnownZone(_ name: String) -> Bool {
        name.count <= 64 && !name.isEmpty && TimeZone(identifier: name) != nil
    }
}

/// A time of day, `HH:MM` on the 24-hour clock.
public struct DigestTime: Sendable, Equatable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init?(hour: Int, minute: Int) {
        guard (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// Exactly `HH:MM` (`07:00`, `19:30`); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let hour = Int(parts[0]), let minute = Int(parts[1])
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    public var description: String {
        (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }
}

/// Days and times in a user's zone, with Foundation's calendar: the rules of each zone's summer
/// time come from the system's time-zone database, not from a fixed offset.
public enum DigestSchedule {
    static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// The first moment after `now` that shows `time` on a clock in `zone`, once per local day.
    /// A time the clock skips (02:30 on the night summer time starts) is the first minute after
    /// the gap; a time it shows twice (01:30 when summer time ends) is the first of the two.
    public static func next(_ time: DigestTime, in zone: TimeZone, after now: Timestamp) -> Timestamp {
        let calendar = calendar(zone)
        let instant = now.date
        var day = calendar.startOfDay(for: instant)
        for _ in 0..<3 {
            guard let nextDay = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            // The search starts just before midnight, so a time of 00:00 is found on its own day.
            if let candidate = calendar.nextDate(
                after: day.addingTimeInterval(-1), matching: DateComponents(hour: time.hour, minute: time.minute, second: 0),
                matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward),
                candidate > instant, candidate < nextDay
            {
                return Timestamp(candidate)
            }
            day = nextDay
        }
        return now.adding(milliseconds: 86_400_000)  // not reached: some day in three has the time
    }

    /// The local date of `time` in `zone`, `yyyy-MM-dd`.
    public static func localDate(of time: Timestamp, in zone: TimeZone) -> String {
        let parts = calendar(zone).dateComponents([.year, .month, .day], from: time.date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The first and the last-plus-one instant of a local date (`yyyy-MM-dd`) in `zone`: 23 or 25
    /// hours apart on the days summer time starts or ends.
    public static func bounds(of date: String, in zone: TimeZone) -> (start: Timestamp, end: Timestamp)? {
        let parts = date.split(separator: "-").compactMap { Int($0) }
        let calendar = calendar(zone)
        guard parts.count == 3, let noon = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: 12)),
              let next = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: noon))
        else { return nil }
        return (Timestamp(calendar.startOfDay(for: noon)), Timestamp(next))
    }

    /// `Fri 4 Dec 2026, 14:30` on a clock in `zone`.
    public static func localTime(_ time: Timestamp, in zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "EEE d MMM yyyy, HH:mm"
        return formatter.string(from: time.date)
    }
}

/// The text of a notification mail, before TodoMail puts it in MIME.
public struct MailText: Sendable, Equatable {
    public var subject: String
    public var body: String

    public init(subject: String, body: String) {
        self.subject = subject
        self.body = body
    }

    /// A reminder: subject `Reminder: <title>`, the due time in the user's zone and the task's link.
    public static func reminder(for task: TodoTask, in zone: TimeZone, zoneName: String, link: String) -> MailText {
        var lines = [task.fields.title, ""]
        if let due = task.fields.dueAt {
            lines.append("Due: \(DigestSchedule.localTime(due, in: zone)) (\(zoneName))")
        } else {
            lines.append("No due date.")
        }
        lines += ["", "Open it: \(link)", "", "You get this mail because e-mail reminders are on in your Todo settings."]
        return MailText(subject: "Reminder: \(Self.oneLine(task.fields.title))", body: lines.joined(separator: "\n"))
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(200))
    }
}

/// What a daily digest lists: the open tasks due on its local date and those overdue before it,
/// earliest first. Nil when there are none: no digest is sent for an empty day.
public struct DailyDigest: Sendable, Equatable {
    public var date: String
    public var overdue: [TodoTask]
    public var dueToday: [TodoTask]

    public init?(date: String, zone: TimeZone, tasks: [TodoTask]) {
        guard let (start, end) = DigestSchedule.bounds(of: date, in: zone) else { return nil }
        let open = tasks.filter { !$0.fields.completed && $0.fields.dueAt.map { $0 < end } == true }
            .sorted { ($0.fields.dueAt!, $0.id) < ($1.fields.dueAt!, $1.id) }
        guard !open.isEmpty else { return nil }
        self.date = date
        overdue = open.filter { $0.fields.dueAt! < start }
        dueToday = open.filter { $0.fields.dueAt! >= start }
    }

    /// The mail: a line per task with its local due time and its link.
    public func text(in zone: TimeZone, zoneName: String, link: (TaskID) -> String) -> MailText {
        func line(_ task: TodoTask) -> String {
            "- \(MailText.oneLine(task.fields.title)) (due \(DigestSchedule.localTime(task.fields.dueAt!, in: zone)))\n  \(link(task.id))"
        }
        var lines: [String] = []
        if !dueToday.isEmpty { lines += ["Due today:", ""] + dueToday.map(line) + [""] }
        if !overdue.isEmpty { lines += ["Overdue:", ""] + overdue.map(line) + [""] }
        lines += ["Times are in \(zoneName).", "You get this mail because the daily digest is on in your Todo settings."]
        let count = overdue.count + dueToday.count
        return MailText(subject: "Todo digest for \(date): \(count) task\(count == 1 ? "" : "s") due", body: lines.joined(separator: "\n"))
    }
}

extension Timestamp {
    init(_ date: Date) {
        self.init(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }
}
