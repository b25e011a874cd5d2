import Foundation
import HTTPTypes
import Hummingbird
import TodoClient
import TodoCore

/// The task list (search, filters, order, pages), quick add, complete, move, delete and the edit page.
/// Every action is a plain form, so it works without JavaScript; the page's script sends the
/// same forms with `Accept: application/json` and refreshes the list in place.
struct TaskPages: Sendable {
    let client: TodoClient
    let views: Views
    static let pageSize = 50

    struct ListPage {
        var chrome: Chrome
        var search: String
        var tag: String
        var statusOptions: [Option]
        var priorityOptions: [Option]
        var dueOptions: [Option]
        var sortOptions: [Option]
        /// The order this list has when the address names none (the script leaves it out).
        var defaultSort: String
        var isFiltered: Bool
        var quickAddText: String
        var errors: [String]
        var hasErrors: Bool
        var list: ListFragment
        var timeZone: String
        var sidebar: Sidebar
        /// The project a task added here goes to (the one shown), empty for the Inbox.
        var project: String
        var clearHref: String
    }

    /// The part of the list page that live updates replace.
    struct ListFragment {
        var groups: [DayGroup]
        var hasTasks: Bool
        var emptyMessage: String
        var moreHref: String?
        var returnTo: String
        var csrf: String
        var heading: String
        var countText: String
        /// A project's members and sharing; none for the Inbox and the other lists.
        var shareHref: String?
        var sidebar: Sidebar?
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("/", use: list)
        router.post("tasks", use: add)
        router.post("projects", use: createProject)
        router.get("tasks/:id", use: edit)
        router.post("tasks/:id", use: update)
        router.post("tasks/:id/toggle", use: toggle)
        router.post("tasks/:id/move", use: move)
        router.post("tasks/:id/subtasks", use: addSubtask)
        router.post("tasks/:id/delete", use: delete)
    }

    // MARK: List

    @Sendable func list(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let filters = ListFilters(FormData(urlEncoded: Substring(request.uri.query ?? "")))
        if request.headers[.xFragment] == "list" {
            let projects = try await client.listProjects(token: token)
            var fragment = try await loadList(token: token, filters: filters, context: context, projects: projects)
            // The counts in the sidebar change with the list: the script puts these in place.
            fragment.sidebar = Sidebar(projects: projects, filters: filters, csrf: context.csrfToken)
            return views.html(views.render("task_list", fragment))
        }
        return try await listPage(token: token, filters: filters, context: context)
    }

    func listPage(token: String, filters: ListFilters, context: WebRequestContext, quickAddText: String = "", errors: [String] = [],
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        async let user = client.me(token: token)
        let projects = try await client.listProjects(token: token)
        let fragment = try await loadList(token: token, filters: filters, context: context, projects: projects)
        var cleared = ListFilters(FormData(urlEncoded: ""))
        cleared.project = filters.project
        cleared.sort = cleared.defaultSort
        let model = ListPage(
            chrome: views.chrome(context, title: "Tasks", user: try await user, section: "tasks"),
            search: filters.search, tag: filters.tag,
            statusOptions: filters.options(ListFilters.statuses, selected: filters.status),
            priorityOptions: filters.options(ListFilters.priorities, selected: filters.priority),
            dueOptions: filters.options(ListFilters.dues, selected: filters.due),
            sortOptions: filters.options(filters.sortChoices, selected: filters.sort), defaultSort: filters.defaultSort,
            isFiltered: filters.isFiltered, quickAddText: quickAddText, errors: errors, hasErrors: !errors.isEmpty,
            list: fragment, timeZone: context.timeZone.identifier,
            sidebar: Sidebar(projects: projects, filters: filters, csrf: context.csrfToken), project: filters.project, clearHref: cleared.path)
        return views.page("tasks", model, status: status)
    }

    func loadList(token: String, filters: ListFilters, context: WebRequestContext, projects: [Project]) async throws -> ListFragment {
        let now = Timestamp.now()
        let calendar = PageSupport.calendar(context.timeZone)
        let query: TaskQuery
        do {
            query = try filters.taskQuery(now: now, clock: LocalClock(calendar: calendar), limit: Self.pageSize)
        } catch {
            throw WebError.badRequest(error.summary)
        }
        let page = try await client.listTasks(token: token, query: query)
        var more: String?
        if let cursor = page.nextCursor {
            more = "/?" + ListFilters.query(filters.queryPairs + [("cursor", cursor.token)])
        }
        let shown = projects.first { String($0.id) == filters.project }
        let heading = if let project = shown {
            project.name
        } else {
            switch (filters.due, filters.status) {
            case ("by-today", _): "Today"
            case ("week", _): "Upcoming"
            case (_, "completed"): "Done"
            case (_, "all"): "All tasks"
            default: "To do"
            }
        }
        let returnTo = filters.path
        let rows = page.items.map { task in
            var row = TaskRow(task, now: now, calendar: calendar)
            if returnTo != "/" { row.editHref += "?" + ListFilters.query([("return_to", returnTo)]) }
            return row
        }
        let count = rows.count == 1 ? "1 task" : "\(rows.count)\(more == nil ? "" : "+") tasks"
        let byDay = filters.due == "week" && filters.sort == "due"
        // Moving needs every sibling on the page (a neighbour on the next page is not known) and a
        // role that writes the project's tasks.
        let movable = filters.showsManualOrder && more == nil && shown?.role.writesTasks == true
        let nested = TaskRow.nested(page.items, rows: rows)
        return ListFragment(
            groups: byDay ? DayGroup.byDay(page.items, rows: rows, now: now, clock: LocalClock(calendar: calendar))
                : [DayGroup(label: nil, tasks: movable ? TaskRow.inManualOrder(nested) : nested)],
            hasTasks: !rows.isEmpty,
            emptyMessage: filters.isFiltered ? "No tasks match these filters." : "Nothing to do. Add a task above.",
            moreHref: more, returnTo: returnTo, csrf: context.csrfToken, heading: heading, countText: rows.isEmpty ? "" : count,
            shareHref: shown.flatMap { $0.isInbox ? nil : SharePages.path($0.id) })
    }

    // MARK: Quick add, complete, delete

    @Sendable func add(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let form = context.form
        let returnTo = PageSupport.localPath(form["return_to"])
        guard let text = form.text("text") else {
            return try await failure(request, context, token: token, returnTo: returnTo, text: "", errors: ["Type a task first."])
        }
        let parsed = QuickAdd.parse(text, now: .now(), timeZone: PageSupport.timeZone(form, context))
        guard !parsed.title.isEmpty else {
            return try await failure(request, context, token: token, returnTo: returnTo, text: text,
                                     errors: ["Say what the task is, not only when: “Call Ann tomorrow 5pm”."])
        }
        let fields = TaskFields(title: parsed.title, priority: parsed.priority, tags: parsed.tags, dueAt: parsed.dueAt, recurrence: parsed.recurrence)
        var projectID = form.text("project").flatMap(ProjectID.init)
        if let name = parsed.project {
            guard let project = try await client.listProjects(token: token).named(name) else {
                return try await failure(request, context, token: token, returnTo: returnTo, text: text,
                                         errors: ["You have no project named “\(name)”."])
            }
            projectID = project.id
        }
        do {
            let task = try await client.createTask(token: token, fields: fields, projectID: projectID)
            if PageSupport.wantsJSON(request) {
                return PageSupport.json(.object(["message": .string("Added “\(task.fields.title)”."), "id": .string(String(task.id))]), status: .created)
            }
            return .redirect(to: returnTo)
        } catch TodoClientError.validation(let issues, let message) {
            return try await failure(request, context, token: token, returnTo: returnTo, text: text,
                                     errors: PageSupport.messages(issues, message: message))
        }
    }

    /// The sidebar's "New project": the project's page, or the list again with what was wrong.
    @Sendable func createProject(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let returnTo = PageSupport.localPath(context.form["return_to"])
        do {
            let project = try await client.createProject(token: token, name: context.form.text("name") ?? "")
            return .redirect(to: "/?" + ListFilters.query([("project", String(project.id))]))
        } catch TodoClientError.validation(let issues, let message) {
            return try await failure(request, context, token: token, returnTo: returnTo, text: "",
                                     errors: PageSupport.messages(issues, message: message).map { "Project: " + $0 })
        }
    }

    /// A quick add that did not work: the list again, with the text kept and what was wrong.
    func failure(_ request: Request, _ context: WebRequestContext, token: String, returnTo: String, text: String,
                 errors: [String]) async throws -> Response {
        if PageSupport.wantsJSON(request) {
            return PageSupport.json(.object(["error": .object(["message": .string(errors.joined(separator: " "))])]), status: .unprocessableContent)
        }
        let query = returnTo.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        return try await listPage(token: token, filters: ListFilters(FormData(urlEncoded: query)), context: context,
                                  quickAddText: text, errors: errors, status: .unprocessableContent)
    }

    @Sendable func toggle(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let id = try taskID(context)
        // The form says which state it wants, so that sending it twice does not undo it.
        let completed = context.form["completed"].map { $0 == "true" }
        let task = try await client.completeTask(token: token, id: id, completed: completed)
        if PageSupport.wantsJSON(request) {
            let message = task.fields.completed ? "Completed “\(task.fields.title)”." : "Reopened “\(task.fields.title)”."
            return PageSupport.json(.object(["message": .string(message), "completed": .bool(task.fields.completed)]))
        }
        return .redirect(to: PageSupport.localPath(context.form["return_to"]))
    }

    /// Moves a task in its project's manual order: to the position the form carries (the move
    /// buttons' is computed when the list is drawn, the script's from the rows it lands between).
    @Sendable func move(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let id = try taskID(context)
        guard let position = context.form.text("position").flatMap(Double.init), position.isFinite else {
            throw WebError.badRequest("A move needs the position to move the task to, a number.")
        }
        var patch = TaskPatch()
        patch.position = position
        let task = try await client.updateTask(token: token, id: id, patch: patch)
        if PageSupport.wantsJSON(request) {
            return PageSupport.json(.object(["message": .string("Moved “\(task.fields.title)”."), "position": .number(task.position ?? position)]))
        }
        return .redirect(to: PageSupport.localPath(context.form["return_to"]))
    }

    /// Deletes a task; one with sub-tasks (which go with it) only once the page that says so
    /// was confirmed.
    @Sendable func delete(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let id = try taskID(context)
        let returnTo = PageSupport.localPath(context.form["return_to"])
        do {
            if context.form.text("confirmed") != "yes" {
                let task = try await client.task(token: token, id: id).task
                if task.subtaskCount > 0 {
                    // A row drawn before its sub-tasks came deletes in the background: refused, not asked.
                    guard !PageSupport.wantsJSON(request) else {
                        return PageSupport.jsonError(.conflict, code: "confirmation_needed",
                                                     message: "“\(task.fields.title)” has sub-tasks now: open it to delete it with them.")
                    }
                    return try await confirmDelete(task, token: token, returnTo: returnTo, context: context)
                }
            }
            try await client.deleteTask(token: token, id: id)
        } catch TodoClientError.notFound {
            // Already gone: the result the user asked for.
        }
        if PageSupport.wantsJSON(request) { return PageSupport.json(.object(["message": .string("Task deleted.")])) }
        return .redirect(to: returnTo)
    }

    struct ConfirmDeletePage {
        var chrome: Chrome
        var id: String
        var title: String
        var subtasks: String
        var returnTo: String
    }

    private func confirmDelete(_ task: TodoTask, token: String, returnTo: String, context: WebRequestContext) async throws -> Response {
        let user = try await client.me(token: token)
        let count = task.subtaskCount == 1 ? "its sub-task" : "its \(task.subtaskCount) sub-tasks"
        return views.page("confirm_delete", ConfirmDeletePage(
            chrome: views.chrome(context, title: "Delete “\(task.fields.title)”?", user: user, section: "tasks"),
            id: String(task.id), title: task.fields.title, subtasks: count, returnTo: returnTo))
    }

    func taskID(_ context: WebRequestContext) throws -> TaskID {
        guard let text = context.parameters.get("id"), let id = TaskID(text), id > 0 else { throw WebError.notFound }
        return id
    }

    // MARK: Edit

    struct EditPage {
        var chrome: Chrome
        var id: String
        var title: String
        var description: String
        var priorityOptions: [Option]
        var tags: String
        var due: String
        var remindOptions: [Option]
        var remindAt: String
        var repeatOptions: [Option]
        var interval: String
        var completed: Bool
        var errors: [String]
        var hasErrors: Bool
        var returnTo: String
        var timeZone: String
        var created: String
        var updated: String
        /// The version the form was made from; saving sends it as `If-Match`.
        var etag: String
        /// The task's sub-tasks, each a link to its own page, and whether another can be added
        /// (a task four levels down has none).
        var subtasks: [SubtaskLink] = []
        var hasSubtasks = false
        var progress: String?
    }

    struct SubtaskLink {
        var title: String
        var href: String
        var completed: Bool
    }

    static let priorityChoices = [("none", "No priority"), ("low", "Low"), ("medium", "Medium"), ("high", "High")]
    static let remindChoices = [("", "No reminder"), ("0", "At the due time"), ("10", "10 minutes before"), ("60", "1 hour before"),
                                ("1440", "1 day before"), ("custom", "At a set time")]
    static let repeatChoices = [("", "Does not repeat"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"), ("yearly", "Yearly")]

    @Sendable func edit(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        async let user = client.me(token: token)
        let (task, etag) = try await client.task(token: token, id: try taskID(context))
        let returnTo = PageSupport.localPath(FormData(urlEncoded: Substring(request.uri.query ?? ""))["return_to"])
        let clock = LocalClock(calendar: PageSupport.calendar(context.timeZone))
        var remind = task.fields.remindAt == nil ? "" : "custom"
        if let due = task.fields.dueAt, let remindAt = task.fields.remindAt {
            let minutes = (due.millisecondsSinceEpoch - remindAt.millisecondsSinceEpoch) / 60_000
            if (due.millisecondsSinceEpoch - remindAt.millisecondsSinceEpoch) % 60_000 == 0,
               Self.remindChoices.contains(where: { $0.0 == String(minutes) }) {
                remind = String(minutes)
            }
        }
        let model = EditPage(
            chrome: views.chrome(context, title: "Edit “\(task.fields.title)”", user: try await user, section: "tasks"),
            id: String(task.id), title: task.fields.title, description: task.fields.description,
            priorityOptions: options(Self.priorityChoices, task.fields.priority.rawValue),
            tags: task.fields.tags.joined(separator: ", "), due: task.fields.dueAt.map(clock.inputValue) ?? "",
            remindOptions: options(Self.remindChoices, remind), remindAt: task.fields.remindAt.map(clock.inputValue) ?? "",
            repeatOptions: options(Self.repeatChoices, task.fields.recurrence?.frequency.rawValue ?? ""),
            interval: String(task.fields.recurrence?.interval ?? 1), completed: task.fields.completed, errors: [], hasErrors: false,
            returnTo: returnTo, timeZone: context.timeZone.identifier,
            created: clock.fullDate(task.createdAt), updated: clock.fullDate(task.updatedAt), etag: etag ?? "")
        return views.page("edit", try await withSubtasks(model, of: task, token: token))
    }

    /// The edit page with the task's sub-tasks (a page of them: the most a list shows at once).
    private func withSubtasks(_ model: EditPage, of task: TodoTask, token: String) async throws -> EditPage {
        var model = model
        var query = try TaskQuery(parameters: [("status", "all"), ("sort", "position")])
        query.parent = .task(task.id)
        let subtasks = try await client.listTasks(token: token, query: query).items
        model.subtasks = subtasks.map { SubtaskLink(title: $0.fields.title, href: "/tasks/\($0.id)", completed: $0.fields.completed) }
        model.hasSubtasks = !subtasks.isEmpty
        model.progress = task.subtaskCount > 0 ? "\(task.subtasksDone) of \(task.subtaskCount) done" : nil
        return model
    }

    /// Adds a sub-task from the edit page's inline form: titled, in the parent's project, then
    /// back to the parent's page.
    @Sendable func addSubtask(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let parent = try taskID(context)
        var patch = TaskPatch()
        patch.title = context.form.text("title") ?? ""
        patch.parentID = .some(parent)
        do {
            _ = try await client.createTask(token: token, patch: patch)
        } catch TodoClientError.validation(let issues, let message) {
            throw WebError.badRequest(PageSupport.messages(issues, message: message).joined(separator: " "))
        }
        return .redirect(to: "/tasks/\(parent)#subtasks")
    }

    @Sendable func update(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let id = try taskID(context)
        let form = context.form
        let timeZone = PageSupport.timeZone(form, context)
        let clock = LocalClock(calendar: PageSupport.calendar(timeZone))
        var errors: [String] = []
        var patch = TaskPatch()
        patch.title = form["title"] ?? ""
        patch.description = form["description"] ?? ""
        patch.completed = form["completed"] == "on" || form["completed"] == "true"
        patch.tags = Self.tags(form["tags"] ?? "")
        patch.priority = Priority(rawValue: form["priority"] ?? "none")
        if patch.priority == nil { errors.append("Priority must be one of high, medium, low, none.") }
        // The form sends every field, so an empty date clears the task's (`.some(nil)`; `nil` would keep it).
        var due: Timestamp?
        if let text = form.text("due") {
            due = clock.instant(fromInput: text)
            if due == nil { errors.append("Due must be a date and time.") }
        }
        patch.dueAt = .some(due)
        switch form["remind"] ?? "" {
        case "":
            patch.remindAt = .some(nil)
        case "custom":
            let remindAt = form.text("remind_at").flatMap(clock.instant(fromInput:))
            if remindAt == nil { errors.append("Reminder needs a date and time.") }
            patch.remindAt = .some(remindAt)
        case let minutes:
            if let due, let offset = Int64(minutes) {
                patch.remindAt = .some(due.adding(milliseconds: -offset * 60_000))
            } else {
                errors.append("A reminder before the due time needs a due date.")
            }
        }
        if let frequency = form.text("repeat").flatMap(Recurrence.Frequency.init(rawValue:)) {
            let interval = Int(form.text("interval") ?? "1") ?? 0
            if !(1...999).contains(interval) { errors.append("Repeat every must be a number from 1 to 999.") }
            let current = try? await client.task(token: token, id: id).task.fields.recurrence
            var recurrence = current ?? Recurrence(frequency: frequency)
            recurrence.frequency = frequency
            recurrence.interval = interval
            if recurrence.timezone == nil, timeZone.identifier != "UTC", timeZone.identifier != "GMT" { recurrence.timezone = timeZone.identifier }
            patch.recurrence = .some(recurrence)
        } else {
            patch.recurrence = .some(nil)
        }
        var etag = form.text("etag")
        var status = HTTPResponse.Status.unprocessableContent
        if errors.isEmpty {
            do {
                _ = try await client.updateTask(token: token, id: id, patch: patch, ifMatch: etag)
                return .redirect(to: PageSupport.localPath(form["return_to"]))
            } catch TodoClientError.validation(let issues, let message) {
                errors = PageSupport.messages(issues, message: message)
            } catch TodoClientError.versionConflict {
                // Changed elsewhere since this form was made: keep what the user typed, and let a
                // second save (now against the latest version) decide.
                etag = try await client.task(token: token, id: id).etag
                errors = ["This task was changed somewhere else (another tab or device) while you edited it. "
                    + "Your version is below: save again to keep it, or go back to see the other one."]
                status = .conflict
            }
        }
        let model = EditPage(
            chrome: views.chrome(context, title: "Edit task", user: try? await client.me(token: token), section: "tasks"),
            id: String(id), title: form["title"] ?? "", description: form["description"] ?? "",
            priorityOptions: options(Self.priorityChoices, form["priority"] ?? "none"), tags: form["tags"] ?? "",
            due: form["due"] ?? "", remindOptions: options(Self.remindChoices, form["remind"] ?? ""), remindAt: form["remind_at"] ?? "",
            repeatOptions: options(Self.repeatChoices, form["repeat"] ?? ""), interval: form["interval"] ?? "1",
            completed: patch.completed == true, errors: errors, hasErrors: true,
            returnTo: PageSupport.localPath(form["return_to"]), timeZone: timeZone.identifier, created: "", updated: "",
            etag: etag ?? "")
        return views.page("edit", model, status: status)
    }

    /// `home, Work #errands` → `["home", "work", "errands"]`.
    static func tags(_ text: String) -> [String] {
        var seen: [String] = []
        for piece in text.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            let tag = piece.trimmingCharacters(in: CharacterSet(charactersIn: "#")).lowercased()
            if !tag.isEmpty, !seen.contains(tag) { seen.append(tag) }
        }
        return seen
    }

    func options(_ choices: [(String, String)], _ selected: String) -> [Option] {
        choices.map { Option(value: $0.0, label: $0.1, selected: $0.0 == selected) }
    }
}

extension HTTPField.Name {
    /// Sent by the page's script to get only the list part of the page.
    static let xFragment = HTTPField.Name("X-Fragment")!
}
