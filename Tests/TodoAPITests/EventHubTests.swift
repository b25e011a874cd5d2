import Foundation
import Testing
@testable import TodoAPI

/// The hub hands each live stream its user's events and, from one timer for all streams, a
/// heartbeat every interval of that stream.
@Suite struct EventHubTests {
    /// The slower stream subscribes first, so the faster one arrives while the hub sleeps until
    /// the slower one's heartbeat and must wake it sooner. The wake-up is read from the hub, not
    /// inferred from counts: on a machine busy with the other tests a late wake-up serves both
    /// streams at once, and counts would say nothing.
    @Test func eachStreamGetsItsHeartbeatsAtItsOwnInterval() async throws {
        try await APIHarness.run { api in
            let hub = EventHub(events: api.storage.events, tasks: api.storage.tasks, projects: api.storage.projects)
            let slow = await hub.subscribe(userID: "slow", after: 0, heartbeat: .milliseconds(300))
            let slowWake = try #require(await hub.heartbeatsWakeAt)
            let fast = await hub.subscribe(userID: "fast", after: 0, heartbeat: .milliseconds(50))
            let fastWake = try #require(await hub.heartbeatsWakeAt)
            #expect(fastWake < slowWake - .milliseconds(200), "the hub wakes for the fast stream, well before the slow one's heartbeat")
            let fastHeartbeats = Task {
                var count = 0
                for await item in fast.items where item.isHeartbeat { count += 1 }
                return count
            }
            var slowHeartbeats = 0
            for await item in slow.items where item.isHeartbeat {
                slowHeartbeats += 1
                if slowHeartbeats == 2 { break }
            }
            await hub.finishAll()
            // Each wake-up serves every stream due: the fast one is served at least as often.
            #expect(await fastHeartbeats.value >= 2)
        }
    }

    @Test func anEventReachesTheStreamsOfItsUserOnlyAndFinishingEndsEveryStream() async throws {
        try await APIHarness.run { api in
            let hub = EventHub(events: api.storage.events, tasks: api.storage.tasks, projects: api.storage.projects)
            let (ann, annID) = try await api.signUp()
            let (_, bobID) = try await api.signUp()
            let annStreams = [await hub.subscribe(userID: annID, after: 0, heartbeat: .seconds(3600)),
                              await hub.subscribe(userID: annID, after: 0, heartbeat: .seconds(3600))]
            let bobStream = await hub.subscribe(userID: bobID, after: 0, heartbeat: .seconds(3600))
            _ = try await api.createTask(ann, #"{"title": "ann's"}"#)
            try await hub.deliverNewEvents()
            await hub.finishAll()
            #expect(await hub.subscriberCount == 0)
            for stream in annStreams {
                let kinds = await stream.items.reduce(into: [String]()) { kinds, item in
                    if case .event(let event) = item { kinds.append("\(event.kind.rawValue) \(event.data.contains("ann's"))") }
                }
                #expect(kinds == ["task.created true"])
            }
            #expect(await bobStream.items.reduce(0) { count, _ in count + 1 } == 0)
        }
    }

    @Test func unsubscribingEndsThatStreamAndTheOthersKeepTheirHeartbeats() async throws {
        try await APIHarness.run { api in
            let hub = EventHub(events: api.storage.events, tasks: api.storage.tasks, projects: api.storage.projects)
            let leaving = await hub.subscribe(userID: "a", after: 0, heartbeat: .milliseconds(50))
            let staying = await hub.subscribe(userID: "b", after: 0, heartbeat: .milliseconds(50))
            await hub.unsubscribe(leaving.id)
            #expect(await leaving.items.reduce(0) { count, _ in count + 1 } == 0)
            var heartbeats = 0
            for await item in staying.items where item.isHeartbeat {
                heartbeats += 1
                if heartbeats == 2 { break }
            }
            #expect(await hub.subscriberCount == 1)
            await hub.unsubscribe(staying.id)
            #expect(await hub.subscriberCount == 0)
        }
    }
}

extension LiveStreamItem {
    fileprivate var isHeartbeat: Bool {
        if case .heartbeat = self { return true }
        return false
    }
}
