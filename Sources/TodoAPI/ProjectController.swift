import Hummingbird
import TodoCore
import TodoStore

/// `/api/{user_id}/projects`: the caller's projects, each as the caller sees it (role, own
/// order, task counts). Access is decided by membership in the store's statements: a project the
/// caller is not a member of is not found; only its owners change or delete it.
struct ProjectController<Context: AppRequestContext>: Sendable {
    let projects: any ProjectStore
    let body: JSONBody

    struct List: ResponseEncodable {
        var items: [Project]
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":project_id", use: get)
        group.patch(":project_id", use: patch)
        group.delete(":project_id", use: delete)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> List {
        List(items: try await projects.projects(userID: try context.requireUser(), at: .now()))
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<Project> {
        let new = try NewProject(json: try await body.require(request))
        let userID = try context.requireUser()
        guard let project = try await projects.createProject(new, userID: userID, at: .now()) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        var response = EditedResponse(status: .created, response: project)
        response.headers[.location] = "/api/\(context.parameters.get("user_id") ?? userID)/projects/\(project.id)"
        return response
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Project {
        guard let project = try await projects.project(id: try projectID(context), userID: try context.requireUser(), at: .now()) else {
            throw APIError.projectNotFound
        }
        return project
    }

    @Sendable func patch(_ request: Request, context: Context) async throws -> Project {
        let patch = try ProjectPatch(json: try await body.require(request))
        let id = try projectID(context), userID = try context.requireUser()
        switch try await projects.updateProject(id: id, userID: userID, patch: patch, at: .now()) {
        case .updated(let project): return project
        case .notFound, .deleted: throw APIError.projectNotFound
        case .forbidden: throw APIError.notProjectOwner
        case .isInbox: throw ValidationError(field: "archived", "the Inbox cannot be archived")
        }
    }

    /// `?tasks=delete` deletes the project's tasks with it; `?tasks=move` (the default, which
    /// loses nothing) moves them to the end of the caller's Inbox first.
    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        var tasks = ProjectTasksOnDelete.move
        let parameters: [(name: String, value: String)]
        do { parameters = try QueryString.parameters(request.uri.query) } catch { throw APIError.invalidParameters(error) }
        for (name, value) in parameters {
            guard name == "tasks" else { throw APIError.invalidParameters(ValidationError(field: name, "unknown query parameter")) }
            guard let choice = ProjectTasksOnDelete(rawValue: value) else {
                throw APIError.invalidParameters(ValidationError(field: "tasks", "must be delete or move"))
            }
            tasks = choice
        }
        switch try await projects.deleteProject(id: try projectID(context), userID: try context.requireUser(), tasks: tasks, at: .now()) {
        case .deleted, .updated: return .noContent
        case .notFound: throw APIError.projectNotFound
        case .forbidden: throw APIError.notProjectOwner
        case .isInbox: throw APIError.inboxKept
        }
    }

    /// A path id that is not a project id names no project: 404, like another user's project.
    private func projectID(_ context: Context) throws -> ProjectID {
        guard let text = context.parameters.get("project_id"), let id = ProjectID(text), id > 0 else { throw APIError.projectNotFound }
        return id
    }
}

extension Project: ResponseEncodable {}
