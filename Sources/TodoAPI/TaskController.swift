import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// The task routes under `/api/{user_id}/tasks`.
struct TaskController<Context: AppRequestContext>: Sendable {
    let tasks: any TaskStore
    let projects: any ProjectStore
    let body: JSONBody
    let taskLimit: Int
    var service: TaskService { TaskService(tasks: tasks, projects: projects, taskLimit: taskLimit) }

    /// A page of the list, written by `TaskJSON`.
    struct Page: ResponseGenerator {
        var items: [TodoTask]
        var nextCursor: String?

        func response(from request: Request, context: some RequestContext) throws -> Response {
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: .init(byteBuffer: TaskJSON.page(items, nextCursor: nextCursor)))
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":id", use: get)
        group.put(":id", use: replace)
        group.patch(":id", use: patch)
        group.delete(":id", use: delete)
        group.patch(":id/complete", use: complete)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Page {
        let query: TaskQuery
        do { query = try TaskQuery(parameters: try QueryString.parameters(request.uri.query)) } catch {
            throw APIError.invalidParameters(error)
        }
        let userID = try context.requireUser()
        let page = try await tasks.listTasks(userID: userID, query: query)
        // An empty list of a project: a member's empty project, or no project of theirs (404).
        if page.items.isEmpty, let project = query.project, try await projects.role(userID: userID, projectID: project) == nil {
            throw APIError.projectNotFound
        }
        return Page(items: page.items, nextCursor: page.nextCursor?.token)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let (fields, placement) = try TaskFields.withPlacement(json: try await body.require(request))
        let userID = try context.requireUser()
        let task = try await service.create(fields, placement: placement, userID: userID)
        var response = try Self.response(task, request: request, context: context, status: .created)
        response.headers[.location] = "/api/\(context.parameters.get("user_id") ?? userID)/tasks/\(task.id)"
        return response
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Response {
        let task = try await service.task(id: try taskID(context), userID: try context.requireUser())
        return try Self.response(task, request: request, context: context)
    }

    @Sendable func replace(_ request: Request, context: Context) async throws -> Response {
        let (fields, placement) = try TaskFields.withPlacement(json: try await body.require(request))
        return try await update(request, context, placement: placement) { _ in fields }
    }

    @Sendable func patch(_ request: Request, context: Context) async throws -> Response {
        let patch = try TaskPatch(json: try await body.require(request))
        return try await update(request, context, placement: patch) { task in try patch.applied(to: task.fields) }
    }

    /// Marks the task complete, incomplete (`{"completed": false}`), or toggles it without a body.
    @Sendable func complete(_ request: Request, context: Context) async throws -> Response {
        var completed: Bool?
        if let json = try await body.read(request) {
            let object = try json.object()
            let unknown = object.keys.filter { $0 != "completed" }.sorted()
            guard unknown.isEmpty else { throw ValidationError(unknown.map { FieldIssue(field: $0, message: "unknown field") }) }
            switch object["completed"] {
            case nil: break
            case .bool(let flag)?: completed = flag
            default: throw ValidationError(field: "completed", "must be a boolean")
            }
        }
        return try await update(request, context) { task in
            var fields = task.fields
            fields.completed = completed ?? !task.fields.completed
            return fields
        }
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        try await service.delete(id: try taskID(context), userID: try context.requireUser(), ifVersion: try ifMatch(request))
        return .noContent
    }

    private func update(
        _ request: Request, _ context: Context, placement: TaskPatch? = nil, change: (TodoTask) throws -> TaskFields
    ) async throws -> Response {
        let task = try await service.update(
            id: try taskID(context), userID: try context.requireUser(), ifVersion: try ifMatch(request), placement: placement, change: change)
        return try Self.response(task, request: request, context: context)
    }

    // MARK: HTTP details

    /// A path id that is not a task id names no task: 404, like a task of another user.
    private func taskID(_ context: Context) throws -> TaskID {
        guard let text = context.parameters.get("id"), let id = TaskID(text), id > 0 else { throw APIError.taskNotFound }
        return id
    }

    /// The version named by `If-Match` (an ETag we issued), nil without the header.
    /// `*` matches any existing task. Of a list, only one version can be current, so only the
    /// highest can match; an ETag we never issued never matches: 412.
    private func ifMatch(_ request: Request) throws -> Int? {
        guard let header = request.headers[.ifMatch] else { return nil }
        let values = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if values.contains("*") { return nil }
        guard let version = values.compactMap(ETag.version(from:)).max() else { throw APIError.preconditionFailed }
        return version
    }

    static func response(_ task: TodoTask, request: Request, context: Context, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .eTag: ETag.value(for: task)],
                 body: .init(byteBuffer: TaskJSON.single(task)))
    }
}

extension TodoTask: ResponseEncodable {}

/// Strong ETags carry the task's version: `"3"`.
enum ETag {
    static func value(for task: TodoTask) -> String { "\"\(task.version)\"" }

    static func version(from header: String) -> Int? {
        var text = Substring(header)
        if text.hasPrefix("W/") { return nil }
        guard text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 3 else { return nil }
        text = text.dropFirst().dropLast()
        return Int(text)
    }
}
