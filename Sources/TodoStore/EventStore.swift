import TodoCore

/// The event log that task changes write (through triggers), and the reminders that fire into it.
public protocol EventStore: Sendable {
    /// Marks up to `limit` reminders due at `now` as fired and returns when each was due. Each
    /// reminder is claimed by exactly one caller, also with several processes (a `reminder.due`
    /// event records it).
    func claimDueReminders(at now: Timestamp, limit: Int) async throws -> [Timestamp]
    /// Events of every user after `id`, oldest first.
    func events(after id: Int64, limit: Int) async throws -> [TaskEvent]
    /// The events after `id` that `userID` hears of now, oldest first (to resume a stream): those
    /// of the projects they are a member of, but for reminders only their own (`EventHub`).
    func events(userID: UserID, after id: Int64, limit: Int) async throws -> [TaskEvent]
    func latestEventID() async throws -> Int64
    /// The newest event of one user, 0 for none: the CalDAV calendar's sync token.
    func latestEventID(userID: UserID) async throws -> Int64
    /// The oldest event kept, nil when the log is empty: a sync token older than it may have
    /// missed pruned events.
    func oldestEventID() async throws -> Int64?
    func pruneEvents(before time: Timestamp) async throws
    /// Calls `wake` when another process may have written events; returns only when cancelled.
    func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws
}
