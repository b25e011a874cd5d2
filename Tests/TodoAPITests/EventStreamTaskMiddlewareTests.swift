import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TodoServer

/// A request that asks for an event stream is served in a child task of the connection's task
/// (its memory goes back when the response is ready); any other request in the connection's own.
@Suite struct EventStreamTaskMiddlewareTests {
    /// Writes in `X-Same-Task` whether the handler ran in the task that the middlewares in
    /// front of `EventStreamTaskMiddleware` run in.
    struct ComparesTasks<Context: RequestContext>: RouterMiddleware {
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let outer = Self.currentTask()
            var response = try await next(request, context)
            response.headers[.sameTask] = String(response.headers[.handlerTask] == outer)
            return response
        }

        static func currentTask() -> String { withUnsafeCurrentTask { String(describing: $0?.hashValue) } }
    }

    @Test func onlyARequestForAnEventStreamRunsInAChildTask() async throws {
        let router = Router()
        router.add(middleware: ComparesTasks())
        router.add(middleware: EventStreamTaskMiddleware())
        router.get("stream") { _, _ in
            Response(status: .ok, headers: [.handlerTask: ComparesTasks<BasicRequestContext>.currentTask()])
        }
        try await Application(router: router).test(.router) { client in
            let stream = try await client.execute(uri: "/stream", method: .get, headers: [.accept: "text/event-stream"])
            #expect(stream.headers[.sameTask] == "false")
            let mcp = try await client.execute(uri: "/stream", method: .get, headers: [.accept: "application/json, text/event-stream"])
            #expect(mcp.headers[.sameTask] == "false")
            let page = try await client.execute(uri: "/stream", method: .get, headers: [.accept: "application/json"])
            #expect(page.headers[.sameTask] == "true")
            let none = try await client.execute(uri: "/stream", method: .get)
            #expect(none.headers[.sameTask] == "true")
        }
    }
}

extension HTTPField.Name {
    fileprivate static let handlerTask = Self("X-Handler-Task")!
    fileprivate static let sameTask = Self("X-Same-Task")!
}
