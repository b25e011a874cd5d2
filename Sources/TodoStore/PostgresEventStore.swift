import Synchronization
import PostgresNIO
import TodoCore

/// The event log and reminders on PostgreSQL; other replicas' events announce themselves
/// through `LISTEN/NOTIFY`.
struct PostgresEventStore: EventStore {
    let database: PostgresDatabase

    func claimDueReminders(at now: Timestamp, limit: Int) async throws -> [Timestamp] {
        // SKIP LOCKED: replicas polling at the same moment claim disjoint rows instead of waiting.
        let dueTimes = try await database.query(
            """
            UPDATE tasks SET reminded_at = \(now) WHERE id IN (
                SELECT id FROM tasks WHERE remind_at <= \(now) AND reminded_at IS NULL AND completed = false
                ORDER BY remind_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING remind_at
            """
        ) { rows in
            var dueTimes: [Timestamp] = []
            for try await due in rows.decode(Timestamp.self) { dueTimes.append(due) }
            return dueTimes
        }
        if !dueTimes.isEmpty { database.announcer.changed() }
        return dueTimes
    }

    func events(after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await database.query(
            "SELECT id, user_id, kind, task_id, project_id, moved_from FROM events WHERE id > \(id) ORDER BY id LIMIT \(Int64(limit))",
            Self.events)
    }

    func events(userID: UserID, after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await database.query(
            """
            SELECT id, user_id, kind, task_id, project_id, moved_from FROM events e WHERE id > \(id) AND (
                (e.project_id IS NULL AND e.user_id = \(userID))
                OR ((e.kind <> 'reminder.due' OR e.user_id = \(userID)) AND EXISTS (
                    SELECT 1 FROM project_members m WHERE m.user_id = \(userID) AND m.project_id IN (e.project_id, e.moved_from))))
            ORDER BY id LIMIT \(Int64(limit))
            """,
            Self.events)
    }

    func events(projectID: ProjectID, after id: Int64, limit: Int) async throws -> [TaskEvent] {
        try await database.query(
            """
            SELECT id, user_id, kind, task_id, project_id, moved_from FROM events WHERE (project_id = \(projectID) OR moved_from = \(projectID)) AND id > \(id)
            ORDER BY id LIMIT \(Int64(limit))
            """, Self.events)
    }

    @Sendable private static func events(_ rows: PostgresRowSequence) async throws -> [TaskEvent] {
        var events: [TaskEvent] = []
        for try await (id, userID, kind, taskID, projectID, movedFrom) in rows.decode((Int64, String, String, Int64, Int64?, Int64?).self) {
            guard let kind = EventKind(rawValue: kind) else { throw StoreError.invalid("unknown event kind \(kind)") }
            events.append(TaskEvent(id: id, userID: userID, kind: kind, taskID: taskID, projectID: projectID, movedFrom: movedFrom))
        }
        return events
    }

    func latestEventID() async throws -> Int64 {
        try await database.query("SELECT COALESCE(MAX(id), 0)::bigint FROM events") { rows in
            for try await id in rows.decode(Int64.self) { return id }
            return 0
        }
    }

    func latestEventID(projectID: ProjectID) async throws -> Int64 {
        try await database.query(
            """
            SELECT GREATEST((SELECT MAX(id) FROM events WHERE project_id = \(projectID)),
                (SELECT MAX(id) FROM events WHERE moved_from = \(projectID)), 0)::bigint
            """
        ) { rows in
            for try await id in rows.decode(Int64.self) { return id }
            return 0
        }
    }

    func oldestEventID() async throws -> Int64? {
        try await database.query("SELECT MIN(id)::bigint FROM events") { rows in
            for try await id in rows.decode(Int64?.self) { return id }
            return nil
        }
    }

    func pruneEvents(before time: Timestamp) async throws {
        _ = try await database.query("DELETE FROM events WHERE created_at < \(time)", PostgresDatabase.hasRows)
    }

    /// Calls `wake` after new events on any replica (`NOTIFY todo_events` from `ChangeAnnouncer`),
    /// holding one pooled connection until the task is cancelled.
    func listenForEvents(_ wake: @escaping @Sendable () async -> Void) async throws {
        let client = database.client
        try await StoreError.translating {
            try await PostgresDatabase.lease(from: client, observer: database.poolObserver) { connection in
                try await connection.listen(on: "todo_events") { notifications in
                    for try await _ in notifications { await wake() }
                }
            }
        }
    }
}

/// Sends `NOTIFY todo_events` after task changes: at once after a quiet spell, then at most once
/// per `interval` while changes keep coming. A notifying transaction holds a cluster-wide lock
/// until its commit is on disk, so notifying in every write serialised all writes behind one
/// fsync each (bench/RESULTS.md); this costs one small transaction per interval instead. A lost
/// announcement only delays events to the listeners' next poll.
final class ChangeAnnouncer: Sendable {
    private struct State {
        var announcing = false
        var changedMeanwhile = false
    }

    private let state = Mutex(State())
    private let interval: Duration
    private let notify: @Sendable () async throws -> Void

    init(interval: Duration = .milliseconds(20), notify: @escaping @Sendable () async throws -> Void) {
        self.interval = interval
        self.notify = notify
    }

    /// Called after a change has committed.
    func changed() {
        let start = state.withLock { state -> Bool in
            if state.announcing {
                state.changedMeanwhile = true
                return false
            }
            state.announcing = true
            return true
        }
        if start { Task { await announce() } }
    }

    private func announce() async {
        repeat {
            try? await notify()
            try? await Task.sleep(for: interval)
        } while state.withLock { state -> Bool in
            guard state.changedMeanwhile else {
                state.announcing = false
                return false
            }
            state.changedMeanwhile = false
            return true
        }
    }
}
