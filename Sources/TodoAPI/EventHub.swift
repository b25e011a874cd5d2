import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import TodoCore
import TodoStore
import TodoServer

/// A live event ready to send: the stored event and the JSON of its `data:` line.
struct LiveEvent: Sendable {
    var id: Int64
    var kind: EventKind
    var userID: UserID
    var data: String
}

/// What a live stream receives from the hub: an event, or its heartbeat.
enum LiveStreamItem: Sendable {
    case event(LiveEvent)
    case heartbeat
}

/// An open stream's place in the hub: its items, until `unsubscribe` (or `finish`) ends them.
struct LiveSubscription: Sendable {
    let id: UUID
    let items: AsyncStream<LiveStreamItem>
    fileprivate let continuation: AsyncStream<LiveStreamItem>.Continuation

    /// Ends `items` at once (graceful shutdown); the hub forgets the stream at `unsubscribe`.
    func finish() { continuation.finish() }
}

/// Fans the event log out to the live streams of this process, each event to the members of its
/// task's project (`audience`). Every process reads the shared
/// log (written by database triggers), so a change made through any replica reaches every
/// subscriber; PostgreSQL's NOTIFY wakes the reader at once, a short poll covers the rest.
///
/// The hub also keeps the streams' heartbeats, with one timer for all of them: a stream is then
/// one task (its connection's) reading one `AsyncStream`. A task and a stream of its own for
/// the heartbeat, and another task merging the two, cost 6.8 KiB per open stream (heaptrack,
/// debug build, 300 streams after a few heartbeats: 47.9 KiB of heap each before, 41.1 after;
/// the tasks' slabs of task memory, the tasks themselves, the sleeps' timers).
actor EventHub {
    private struct Subscriber {
        var userID: UserID
        var after: Int64
        var continuation: AsyncStream<LiveStreamItem>.Continuation
        var heartbeat: Duration
        var nextHeartbeat: ContinuousClock.Instant
    }

    private let events: any EventStore
    private let tasks: any TaskStore
    private let projects: any ProjectStore
    private var subscribers: [UUID: Subscriber] = [:]
    /// The highest event id read so far.
    private var cursor: Int64 = 0
    /// Ids delivered recently: events commit out of id order, so each read looks back a little.
    private var recentlyDelivered: Set<Int64> = []
    static let lookBack: Int64 = 200
    static let batchSize = 500
    /// Sends the heartbeats while there are subscribers, waking when the earliest is due.
    private var heartbeats: Task<Void, Never>?
    /// When the heartbeat task wakes next (read by tests).
    private(set) var heartbeatsWakeAt: ContinuousClock.Instant?

    init(events: any EventStore, tasks: any TaskStore, projects: any ProjectStore) {
        self.events = events
        self.tasks = tasks
        self.projects = projects
    }

    /// Events `userID` hears of with ids above `after`, and a heartbeat every `heartbeat`, until the
    /// stream is dropped.
    func subscribe(userID: UserID, after: Int64, heartbeat: Duration) -> LiveSubscription {
        let (stream, continuation) = AsyncStream<LiveStreamItem>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let id = UUID(), nextHeartbeat = ContinuousClock.now + heartbeat
        if subscribers.isEmpty { cursor = max(cursor, after) }
        subscribers[id] = Subscriber(userID: userID, after: after, continuation: continuation, heartbeat: heartbeat,
                                     nextHeartbeat: nextHeartbeat)
        if heartbeatsWakeAt.map({ nextHeartbeat < $0 }) ?? true {
            heartbeats?.cancel()
            heartbeats = Task.detached { await self.sendHeartbeats() }
            heartbeatsWakeAt = nextHeartbeat
        }
        return LiveSubscription(id: id, items: stream, continuation: continuation)
    }

    func unsubscribe(_ id: UUID) {
        subscribers.removeValue(forKey: id)?.continuation.finish()
    }

    func finishAll() {
        for subscriber in subscribers.values { subscriber.continuation.finish() }
        subscribers.removeAll()
        heartbeats?.cancel()
        heartbeats = nil
        heartbeatsWakeAt = nil
    }

    var subscriberCount: Int { subscribers.count }

    /// Sleeps until the earliest heartbeat is due, then sends every heartbeat due within a
    /// sixteenth of its interval (so that streams opened moments apart share a wake-up; each
    /// keeps its own rhythm), until no stream is left. A subscriber due sooner than the wake-up
    /// replaces this task with a new one (only when intervals differ).
    private func sendHeartbeats() async {
        while let earliest = subscribers.values.lazy.map(\.nextHeartbeat).min() {
            heartbeatsWakeAt = earliest
            try? await Task.sleep(until: earliest, clock: .continuous)
            if Task.isCancelled { return }
            let now = ContinuousClock.now
            let due = subscribers.filter { $0.value.nextHeartbeat - $0.value.heartbeat / 16 <= now }
            for (id, subscriber) in due {
                subscriber.continuation.yield(.heartbeat)
                subscribers[id]?.nextHeartbeat = max(subscriber.nextHeartbeat + subscriber.heartbeat, now)
            }
        }
        heartbeatsWakeAt = nil
    }

    /// Reads new events from the log and hands each to the subscribers who hear of it (`audience`).
    func deliverNewEvents() async throws {
        guard !subscribers.isEmpty else { return }
        let batch = try await events.events(after: max(0, cursor - Self.lookBack), limit: Self.batchSize)
            .filter { !recentlyDelivered.contains($0.id) }
        // Membership as it is now, read once per batch: a member removed before this read hears
        // nothing more, whichever replica removed them.
        let members = try await projects.members(ofProjects: Set(batch.flatMap { [$0.projectID, $0.movedFrom].compactMap { $0 } }))
        for event in batch {
            recentlyDelivered.insert(event.id)
            cursor = max(cursor, event.id)
            let hearers = Self.audience(of: event, members: members)
            let audience = subscribers.values.filter { hearers.contains($0.userID) && $0.after < event.id }
            // A task moved out of a project is gone for those who were members of that one only:
            // they learn that it left, never what it became.
            let seeing = event.movedFrom == nil ? hearers : event.projectID.map { members[$0] ?? [] } ?? hearers
            let (viewers, left) = (audience.filter { seeing.contains($0.userID) }, audience.filter { !seeing.contains($0.userID) })
            if let reader = viewers.first?.userID {
                let live = try await Self.live(event, readBy: reader, in: tasks)
                for subscriber in viewers { subscriber.continuation.yield(.event(live)) }
            }
            if let reader = left.first?.userID {
                let gone = LiveEvent(id: event.id, kind: .taskDeleted, userID: reader, data: Self.idOnly(event))
                for subscriber in left { subscriber.continuation.yield(.event(gone)) }
            }
        }
        recentlyDelivered = recentlyDelivered.filter { $0 > cursor - Self.lookBack }
    }

    /// Who hears of an event: every member of the task's project, and of the project it left
    /// when it moved; a due reminder only its recipient (the assignee, else the creator) while a
    /// member. Events recorded before projects were shared have no project: their user's alone.
    /// A deleted project has no members left, so its tasks' deletions reach no stream (clients
    /// learn of it from the project list); `EventStore.events(userID:)` answers the same on resumption.
    static func audience(of event: TaskEvent, members: [ProjectID: Set<UserID>]) -> Set<UserID> {
        guard let project = event.projectID else { return [event.userID] }
        var everyone = members[project] ?? []
        if let left = event.movedFrom { everyone.formUnion(members[left] ?? []) }
        if event.kind == .reminderDue { return everyone.contains(event.userID) ? [event.userID] : [] }
        return everyone
    }

    /// The event as `reader` receives it: with the task as it is now, or just its id once the
    /// task is deleted or out of the reader's sight.
    static func live(_ event: TaskEvent, readBy reader: UserID, in tasks: any TaskStore) async throws -> LiveEvent {
        if event.kind != .taskDeleted, let task = try await tasks.task(id: event.taskID, userID: reader),
           let json = try? APIJSON.encoder.encode(task) {
            return LiveEvent(id: event.id, kind: event.kind, userID: reader, data: String(decoding: json, as: UTF8.self))
        }
        return LiveEvent(id: event.id, kind: event.kind, userID: reader, data: idOnly(event))
    }

    static func idOnly(_ event: TaskEvent) -> String { #"{"id":"\#(event.taskID)"}"# }
}

/// Runs the hub: wakes on database notifications and every `pollInterval`, prunes old events.
struct EventFanoutService: Service {
    let hub: EventHub
    let events: any EventStore
    /// No events table to read before the schema exists.
    let readiness: Readiness
    let pollInterval: Duration
    let retention: Duration
    let logger: Logger

    func run() async throws {
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await events.listenForEvents { wake.yield() }
                    } catch is CancellationError {
                        return
                    } catch {
                        if Task.isCancelled { return }
                        logger.warning("event notifications interrupted", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pollInterval)
                    wake.yield()
                }
            }
            group.addTask {
                var lastPrune = ContinuousClock.now
                for await _ in wakeups where readiness.isSchemaReady {
                    do {
                        try await hub.deliverNewEvents()
                        if ContinuousClock.now - lastPrune > .seconds(600) {
                            lastPrune = ContinuousClock.now
                            let cutoff = Timestamp.now().adding(milliseconds: -Int64(retention.components.seconds) * 1000)
                            try await events.pruneEvents(before: cutoff)
                        }
                    } catch {
                        logger.warning("event delivery failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            try? await gracefulShutdown()
            await hub.finishAll()
            wake.finish()
            group.cancelAll()
        }
    }
}

/// Fires due reminders: claims them in the database (each exactly once across replicas; the
/// claim records a `reminder.due` event) and so hands them to the live streams.
struct ReminderService: Service {
    let events: any EventStore
    /// Nothing to claim before the schema exists (and no error to log every interval meanwhile).
    let readiness: Readiness
    let interval: Duration
    let logger: Logger
    static let batchSize = 100

    private func fireDueReminders() async throws {
        var claimed = Self.batchSize
        while claimed == Self.batchSize {
            let now = Timestamp.now()
            let dueTimes = try await events.claimDueReminders(at: now, limit: Self.batchSize)
            for due in dueTimes { deliveryLag.record(.milliseconds(now.millisecondsSinceEpoch - due.millisecondsSinceEpoch)) }
            claimed = dueTimes.count
            if claimed > 0 { logger.debug("reminders fired", metadata: ["count": .stringConvertible(claimed)]) }
        }
    }

    /// From a reminder's due time to its `reminder.due` event: the poll interval plus any backlog.
    /// Made at start, so the series exists (empty) before the first reminder.
    let deliveryLag = MetricsRegistry.shared.makeDurationHistogram(
        descriptor: .init(metricName: "reminder_delivery_lag", unitName: "seconds",
                          helpText: "Time from a reminder's due time to its delivery as a reminder.due event in seconds"),
        buckets: [.milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
                  .seconds(120), .seconds(300), .seconds(600), .seconds(1800)])

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if readiness.isSchemaReady { try await cancelWhenGracefulShutdown { try await fireDueReminders() } }
            } catch {
                logger.warning("reminder check failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
