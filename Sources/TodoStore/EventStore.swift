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
    /// Events of the tasks of one project after `id`, oldest first, with the events of tasks
    /// moved out of it (which name it as `moved_from`): a project's CalDAV calendar syncs from them.
    func events(projectID: ProjectID, after id: Int64, limit: Int) async throws -> [TaskEvent]
    /// The newest of `events(projectID:)`, 0 for none: the sync token of the project's calendar.
    func latestEventID(projectID: ProjectID) async throws -> Int64
    /// The oldest event kept, nil when the log is empty: a sync token older than it may have
    /// missed pruned events.
    func oldestEventID() async throws -> Int64?
    func pruneEvents(before time: Timestamp) async throws
    /// Calls `wake` when another process may have written events; returns only when cancelled.
    func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws
}
