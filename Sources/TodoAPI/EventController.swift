import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import TodoCore
import TodoServer
import TodoStore

/// `GET /api/{user_id}/events`: the caller's live events as Server-Sent Events. A client that
/// reconnects with `Last-Event-ID` first gets what it missed (kept for a day).
struct EventController<Context: AppRequestContext>: Sendable {
    let events: any EventStore
    let tasks: any TaskStore
    let hub: EventHub
    let heartbeat: Duration
    /// Open streams per user in this process: each holds a connection and a subscription, and
    /// through the web UI a backend connection of its pool too.
    let streams: InFlightLimit
    /// Whether a bearer token still works (checked at every heartbeat: a stream must end when
    /// its token is revoked or expires, as a new request would be refused).
    let stillValid: @Sendable (String) async -> Bool
    static var replayLimit: Int { 1000 }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("events", use: stream)
    }

    /// A client that sends `Accept: text/event-stream` (every `EventSource` does) is served in a
    /// child task (`EventStreamTaskMiddleware`), so the stream keeps none of the memory of its opening.
    @Sendable func stream(_ request: Request, context: Context) async throws -> Response {
        let userID = try context.requireUser()
        guard let slot = streams.slot(userID) else {
            var error = APIError(.tooManyRequests, code: "too_many_streams",
                                 message: "\(streams.limit) live-event streams are open for this account already; close one first")
            error.headers[.retryAfter] = "30"
            throw error
        }
        let resumeFrom = request.headers[.lastEventID].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        let latest = try await events.latestEventID()
        // An id from the future (the database was reset) resumes from now, not from never.
        let start = min(resumeFrom ?? latest, latest)
        var missed: [TaskEvent] = []
        if resumeFrom != nil {
            missed = try await events.events(userID: userID, after: start, limit: Self.replayLimit)
        }
        let subscription = await hub.subscribe(userID: userID, after: missed.last?.id ?? start, heartbeat: heartbeat)
        let tasks = self.tasks, hub = self.hub, replay = missed
        let token = try context.requireToken(), stillValid = self.stillValid
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache, no-transform",
            .init("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                Task { await hub.unsubscribe(subscription.id) }
                withExtendedLifetime(slot) {}
            }
            try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
            for event in replay {
                try await writer.write(Self.frame(try await EventHub.live(event, readBy: userID, in: tasks)))
            }
            try await Self.pump(subscription, to: &writer) { await stillValid(token) }
            try await writer.finish(nil)
        })
    }

    /// Writes events as they come and a comment line at each heartbeat, until the server shuts
    /// down, the client goes away (a write fails; the heartbeat notices a silent departure) or
    /// the token no longer works (checked at each heartbeat). All in the connection's task.
    static func pump(
        _ subscription: LiveSubscription, to writer: inout some ResponseBodyWriter, authorized: @Sendable () async -> Bool
    ) async throws {
        // Streams never end on their own: end them when the server shuts down, so that draining
        // does not wait for every open stream until the shutdown timeout.
        try await withGracefulShutdownHandler {
            for await item in subscription.items {
                switch item {
                case .event(let event):
                    try await writer.write(frame(event))
                case .heartbeat:
                    guard await authorized() else { return }
                    try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                }
            }
        } onGracefulShutdown: {
            subscription.finish()
        }
    }

    static func frame(_ event: LiveEvent) -> ByteBuffer {
        ByteBuffer(string: "id: \(event.id)\nevent: \(event.kind.rawValue)\ndata: \(event.data)\n\n")
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
