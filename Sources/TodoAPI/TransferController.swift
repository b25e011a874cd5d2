import Hummingbird
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

    @Sendable func export(_ request: Request, context: Context) async throws -> Response {
        let document = TaskExport(exportedAt: .now(), tasks: try await tasks.allTasks(userID: try context.requireUser()))
        var response = try context.responseEncoder.encode(document, from: request, context: context)
        response.headers[.contentDisposition] = "attachment; filename=\"todo-export.json\""
        return response
    }

    @Sendable func importTasks(_ request: Request, context: Context) async throws -> Imported {
        let userID = try context.requireUser()
        let imported = try TaskExport.tasks(from: try await importBody.require(request), userID: userID, now: .now())
        guard let count = try await tasks.importTasks(imported, userID: userID, limit: taskLimit) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        context.logger.info("imported tasks", metadata: ["count": "\(count)"])
        return Imported(imported: count)
    }
}

extension TaskExport: ResponseEncodable {}
