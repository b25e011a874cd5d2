import Foundation

/// Where a recurring task sits in its series. Occurrence `n` is due `n × interval` units after
/// `start`, computed in the recurrence's time zone: anchoring every occurrence to the start
/// (instead of to the previous one) keeps "monthly on the 31st" on the last day of short months
/// without drifting to the 28th, and keeps the wall-clock time across DST changes.
public struct Series: Sendable, Equatable {
    public var start: Timestamp
    public var occurrence: Int

    public init(start: Timestamp, occurrence: Int) {
        self.start = start
        self.occurrence = occurrence
    }
}

extension Recurrence {
    /// The due date of occurrence `index` of a series that starts at `start`.
    public func dueDate(occurrence index: Int, seriesStart start: Timestamp) -> Timestamp? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        let steps = index * interval
        var components = DateComponents()
        switch frequency {
        case .daily: components.day = steps
        case .weekly: components.day = steps * 7
        case .monthly: components.month = steps
        case .yearly: components.year = steps
        }
        let startDate = Date(timeIntervalSince1970: Double(start.millisecondsSinceEpoch) / 1000)
        guard let date = calendar.date(byAdding: components, to: startDate) else { return nil }
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds < Double(Timestamp.latest.millisecondsSinceEpoch) else { return nil }
        return Timestamp(millisecondsSinceEpoch: Int64(milliseconds))
    }
}

extension TodoTask {
    /// The task that follows this one when it is completed: the same task due at the next
    /// occurrence, its reminder moved by the same amount, `count` one lower. Nil when the task
    /// does not repeat, the series is over, or the follow-up was already created (completing,
    /// reopening and completing again must not create a second one).
    public func nextOccurrence() -> (fields: TaskFields, series: Series)? {
        guard let recurrence = fields.recurrence, let dueAt = fields.dueAt, nextOccurrenceID == nil else { return nil }
        if let count = recurrence.count, count <= 1 { return nil }
        let series = self.series ?? Series(start: dueAt, occurrence: 0)
        var nextIndex = series.occurrence + 1
        var nextDue = recurrence.dueDate(occurrence: nextIndex, seriesStart: series.start)
        // An occurrence moved by hand may sit after the schedule: never go backwards.
        while let due = nextDue, due <= dueAt, nextIndex < series.occurrence + 10_000 {
            nextIndex += 1
            nextDue = recurrence.dueDate(occurrence: nextIndex, seriesStart: series.start)
        }
        guard let nextDue, nextDue > dueAt else { return nil }
        if let until = recurrence.until, nextDue > until { return nil }
        var next = fields
        next.completed = false
        next.dueAt = nextDue
        next.remindAt = fields.remindAt.map { $0.adding(milliseconds: nextDue.millisecondsSinceEpoch - dueAt.millisecondsSinceEpoch) }
        next.recurrence?.count = recurrence.count.map { $0 - 1 }
        return (next, Series(start: series.start, occurrence: nextIndex))
    }
}
