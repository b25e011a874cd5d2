import Hummingbird
import Logging
import TodoCore
import TodoStore

/// `GET /api/{user_id}/export` and `POST /api/{user_id}/import`.
struct TransferController<Context: AppRequestContext>: Sendable {
    let tasks: any TaskStore
    /// Imports may be much larger than other requests; they have their own limit.
    let importBody: JSONBody
    let taskLimit: Int

    struct Imported: ResponseEncodable {
        var imported: Int
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("export", use: export)
        group.post("import", use: importTasks)
    }

    /// Streams the document a page of tasks at a time (`ExportJSON`): held whole, the 100,000
    /// tasks of a full account took the backend's peak RSS from 48 to 293 MiB; streamed, to 58.
    /// The first page is read before the answer starts, so a database that is down still gets a
    /// 503; a failure later can only cut the body short, which a client sees as an incomplete
    /// chunked body, never as a complete document.
    @Sendable func export(_ request: Request, context: Context) async throws -> Response {
        let userID = try context.requireUser()
        let exportedAt = Timestamp.now()
        let first = try await tasks.tasksOldestFirst(userID: userID, after: nil)
        let tasks = self.tasks, logger = context.logger
        let body = ResponseBody { writer in
            do {
                try await ExportJSON.write(first, userID: userID, from: tasks, exportedAt: exportedAt) { try await writer.write($0) }
                try await writer.finish(nil)
            } catch {
                logger.error("export cut short", metadata: ["error": "\(String(reflecting: error))"])
                throw error
            }
        }
        return Response(status: .ok, headers: [
            .contentType: "application/json; charset=utf-8", .contentDisposition: "attachment; filename=\"todo-export.json\"",
        ], body: body)
    }

    @Sendable func importTasks(_ request: Request, context: Context) async throws -> Imported {
        let userID = try context.requireUser()
        let imported = try TaskExport.tasks(from: try await importBody.require(request), userID: userID, now: .now())
        guard let count = try await tasks.importTasks(imported, userID: userID, limit: taskLimit) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        context.logger.info("imported tasks", metadata: ["count": .stringConvertible(count)])
        return Imported(imported: count)
    }
}
