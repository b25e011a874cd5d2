import Foundation
import Hummingbird
import Logging
import TodoCore
import TodoImport
import TodoStore

/// `GET /api/{user_id}/export`, `POST /api/{user_id}/import` and
/// `POST /api/{user_id}/import/todoist`.
struct TransferController<Context: AppRequestContext>: Sendable {
    let tasks: any TaskStore
    let projects: any ProjectStore
    /// Imports may be much larger than other requests; they have their own limit.
    let importBody: JSONBody
    let taskLimit: Int

    struct Imported: ResponseEncodable {
        var imported: Int
        var projects: Int
    }

    /// A Todoist project's import: the project made, and what did not map.
    struct ImportedProject: ResponseEncodable {
        var project: Project
        var imported: Int
        var notMapped: [String]

        enum CodingKeys: String, CodingKey {
            case project, imported
            case notMapped = "not_mapped"
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("export", use: export)
        group.post("import", use: importTasks)
        group.post("import/todoist", use: importTodoist)
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
        let projects = try await projects.projects(userID: userID, at: exportedAt)
        let tasks = self.tasks, logger = context.logger
        let body = ResponseBody { writer in
            do {
                try await ExportJSON.write(first, projects: projects, userID: userID, from: tasks, exportedAt: exportedAt) { try await writer.write($0) }
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
        let plan = try TaskExport.plan(from: try await importBody.require(request), userID: userID, now: .now())
        try await store(plan, userID: userID, context: context)
        return Imported(imported: plan.tasks.count, projects: plan.projects.count)
    }

    /// A Todoist project's CSV export (the body) into a new project, `?name=` or "Todoist";
    /// dates without a time zone of their own are read in `?timezone=` (UTC by default).
    @Sendable func importTodoist(_ request: Request, context: Context) async throws -> EditedResponse<ImportedProject> {
        let userID = try context.requireUser(), now = Timestamp.now()
        let query = request.uri.queryParameters
        let project = try NewProject(json: .object(["name": .string(query["name"].map(String.init) ?? "Todoist")]))
        let zoneName = query["timezone"].map(String.init) ?? "UTC"
        guard let timeZone = TimeZone(identifier: zoneName) else {
            throw ValidationError(field: "timezone", "must be an IANA time zone name such as Europe/Berlin")
        }
        guard let text = String(validating: try await importBody.bytes(request).readableBytesView, as: UTF8.self) else {
            throw ValidationError(field: "file", "must be UTF-8 text")
        }
        let file = try TodoistCSV.read(text, now: now, timeZone: timeZone)
        let plan = file.importing(into: .init(name: project.name, color: project.color), userID: userID, at: now)
        guard let projectID = try await store(plan, userID: userID, context: context).first,
              let made = try await projects.project(id: projectID, userID: userID, at: now)
        else { throw APIError.unauthorized("the account no longer exists") }
        return EditedResponse(status: .created, response: ImportedProject(project: made, imported: plan.tasks.count, notMapped: file.notMapped))
    }

    /// Stores the plan whole; the new projects' ids.
    @discardableResult
    private func store(_ plan: ImportPlan, userID: UserID, context: Context) async throws -> [ProjectID] {
        guard let projectIDs = try await tasks.importTasks(plan, userID: userID, limit: taskLimit) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        context.logger.info("imported tasks", metadata: ["count": .stringConvertible(plan.tasks.count), "projects": .stringConvertible(projectIDs.count)])
        return projectIDs
    }
}
