import Foundation
import TodoCore

// View models: plain values with the names the templates use.

/// A date and time shown the way people think of it: "Today 09:00", "Tomorrow 09:00",
/// "Friday 18:00", "12 Mar", with the full date as a tooltip.
struct DueLabel {
    var text: String
    var iso: String
    var full: String
    var overdue: Bool
    var today: Bool

    init(_ due: Timestamp, completed: Bool, now: Timestamp, calendar: Calendar) {
        let clock = LocalClock(calendar: calendar)
        let days = clock.daysBetween(now, due)
        let time = clock.time(due)
        let text: String
        switch days {
        case 0: text = "Today \(time)"
        case 1: text = "Tomorrow \(time)"
        case -1: text = "Yesterday \(time)"
        case 2...6: text = "\(clock.weekday(due)) \(time)"
        case -6 ... -2: text = "\(-days) days ago"
        default: text = clock.shortDate(due, relativeTo: now)
        }
        overdue = !completed && due < now
        today = !overdue && !completed && days == 0
        self.text = overdue ? "Overdue · \(text)" : text
        iso = due.rfc3339
        full = clock.fullDate(due)
    }
}

/// Formats instants in one time zone without `DateFormatter` (same output on every platform).
struct LocalClock {
    let calendar: Calendar
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                         "November", "December"]

    func date(_ time: Timestamp) -> Date { Date(timeIntervalSince1970: Double(time.millisecondsSinceEpoch) / 1000) }

    func components(_ time: Timestamp) -> DateComponents {
        calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date(time))
    }

    func daysBetween(_ start: Timestamp, _ end: Timestamp) -> Int {
        calendar.dateComponents([.day], from: calendar.startOfDay(for: date(start)), to: calendar.startOfDay(for: date(end))).day ?? 0
    }

    func time(_ instant: Timestamp) -> String {
        let parts = components(instant)
        return String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
    }

    func weekday(_ instant: Timestamp) -> String { Self.weekdays[(components(instant).weekday ?? 1) - 1] }

    func shortDate(_ instant: Timestamp, relativeTo now: Timestamp) -> String {
        let parts = components(instant)
        let month = String(Self.months[(parts.month ?? 1) - 1].prefix(3))
        let year = parts.year != components(now).year ? " \(parts.year ?? 0)" : ""
        return "\(parts.day ?? 1) \(month)\(year) \(time(instant))"
    }

    func fullDate(_ instant: Timestamp) -> String {
        let parts = components(instant)
        return "\(weekday(instant)) \(parts.day ?? 1) \(Self.months[(parts.month ?? 1) - 1]) \(parts.year ?? 0), \(time(instant)) (\(calendar.timeZone.identifier))"
    }

    /// The value of an `<input type="datetime-local">`: `2026-03-11T09:00`.
    func inputValue(_ instant: Timestamp) -> String {
        let parts = components(instant)
        return String(format: "%04d-%02d-%02dT%02d:%02d", parts.year ?? 0, parts.month ?? 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0)
    }

    /// Reads an `<input type="datetime-local">` value as a wall-clock time in this zone.
    func instant(fromInput text: String) -> Timestamp? {
        let pieces = text.split(whereSeparator: { $0 == "-" || $0 == "T" || $0 == ":" }).map { Int($0) }
        guard pieces.count >= 5, pieces.allSatisfy({ $0 != nil }) else { return nil }
        let components = DateComponents(year: pieces[0], month: pieces[1], day: pieces[2], hour: pieces[3], minute: pieces[4])
        guard let resolved = calendar.date(from: components) else { return nil }
        return Timestamp(millisecondsSinceEpoch: Int64((resolved.timeIntervalSince1970 * 1000).rounded()))
    }

    func startOfDay(_ instant: Timestamp, addingDays days: Int = 0) -> Timestamp {
        let start = calendar.startOfDay(for: date(instant))
        let moved = calendar.date(byAdding: .day, value: days, to: start) ?? start
        return Timestamp(millisecondsSinceEpoch: Int64((moved.timeIntervalSince1970 * 1000).rounded()))
    }
}

/// The sidebar of the task pages: the Inbox, Today, Upcoming, then the other projects not
/// archived, each with its open tasks counted and its overdue ones flagged.
struct Sidebar {
    struct Item {
        var name: String
        var href: String
        var openCount: Int?
        var overdueCount: Int
        var color: String?
        var current: Bool
        /// Stored, not computed: templates read values through reflection.
        var hasOverdue: Bool

        init(name: String, href: String, openCount: Int?, overdueCount: Int, color: String?, current: Bool) {
            self.name = name
            self.href = href
            self.openCount = openCount
            self.overdueCount = overdueCount
            self.color = color
            self.current = current
            self.hasOverdue = overdueCount > 0
        }
    }

    var views: [Item]
    var projects: [Item]
    var csrf: String

    init(projects all: [Project], filters: ListFilters, csrf: String) {
        let shown = all.filter { !$0.archived }
        func item(_ project: Project) -> Item {
            Item(name: project.name, href: "/?" + ListFilters.query([("project", String(project.id))]), openCount: project.openCount,
                 overdueCount: project.overdueCount, color: project.color, current: filters.project == String(project.id))
        }
        let onView = filters.project.isEmpty && filters.queryPairs.count == 1
        views = shown.filter(\.isInbox).map(item) + [
            Item(name: "Today", href: "/?due=by-today", openCount: nil, overdueCount: 0, color: nil, current: onView && filters.due == "by-today"),
            Item(name: "Upcoming", href: "/?due=week", openCount: nil, overdueCount: 0, color: nil, current: onView && filters.due == "week"),
        ]
        projects = shown.filter { !$0.isInbox }.map(item)
        self.csrf = csrf
    }
}

/// Tasks due within the next days, under a heading per day ("Today", "Tomorrow", "Friday 11 December").
struct DayGroup {
    var label: String?
    var tasks: [TaskRow]

    static func byDay(_ tasks: [TodoTask], rows: [TaskRow], now: Timestamp, clock: LocalClock) -> [DayGroup] {
        var groups: [DayGroup] = []
        for (task, row) in zip(tasks, rows) {
            let label = task.fields.dueAt.map { due in
                switch clock.daysBetween(now, due) {
                case ..<1: "Today"
                case 1: "Tomorrow"
                default: "\(clock.weekday(due)) \(clock.components(due).day ?? 1) \(LocalClock.months[(clock.components(due).month ?? 1) - 1])"
                }
            } ?? "No date"
            if groups.last?.label == label { groups[groups.count - 1].tasks.append(row) } else { groups.append(DayGroup(label: label, tasks: [row])) }
        }
        return groups
    }
}

struct TagChip {
    var name: String
    var href: String
}

/// One task as the list shows it.
struct TaskRow {
    var id: String
    var title: String
    var description: String
    var hasDescription: Bool
    var completed: Bool
    var priority: String
    var priorityLabel: String
    var hasPriority: Bool
    var tags: [TagChip]
    var due: DueLabel?
    var repeats: String?
    var reminder: String?
    var toggleLabel: String
    var nextCompleted: String
    var editHref: String
    /// Sub-tasks done of all ("2/5"), for a task that has any.
    var progress: SubtaskProgress?
    /// How deep under a parent shown on the same page (0: at the top; at most 3).
    var depth = 0
    /// A sub-task whose parent is not on the page links to it instead of sitting under it.
    var parentHref: String?
    /// The parent's id (empty at the top) and the place in the project's manual order, for the
    /// page's script to move the row among its siblings.
    var parent: String
    var position: Double
    /// In a list in manual order: whether the row can be dragged, and the forms that move it one
    /// place up or down among its siblings (none past either end).
    var orderable = false
    var moves: [Move] = []

    struct Move {
        var direction: String
        var position: Double
        var label: String
        /// The arrow's SVG path.
        var arrow: String

        static func up(_ title: String, to position: Double) -> Move {
            Move(direction: "up", position: position, label: "Move “\(title)” up", arrow: "M12 19V5M6 11l6-6 6 6")
        }

        static func down(_ title: String, to position: Double) -> Move {
            Move(direction: "down", position: position, label: "Move “\(title)” down", arrow: "M12 5v14M6 13l6 6 6-6")
        }
    }

    struct SubtaskProgress {
        var text: String
        var label: String
    }

    init(_ task: TodoTask, now: Timestamp, calendar: Calendar) {
        id = String(task.id)
        title = task.fields.title
        let firstLine = task.fields.description.split(separator: "\n").first.map(String.init) ?? ""
        description = firstLine.count > 140 ? String(firstLine.prefix(140)) + "…" : firstLine
        hasDescription = !description.isEmpty
        completed = task.fields.completed
        priority = task.fields.priority.rawValue
        hasPriority = task.fields.priority != .none
        priorityLabel = hasPriority ? "\(task.fields.priority.rawValue.capitalized) priority" : "No priority"
        tags = task.fields.tags.map { TagChip(name: $0, href: "/?" + ListFilters.query([("tag", $0), ("status", "all")])) }
        due = task.fields.dueAt.map { DueLabel($0, completed: task.fields.completed, now: now, calendar: calendar) }
        repeats = task.fields.recurrence.map(Self.describe)
        if let remindAt = task.fields.remindAt, !task.fields.completed {
            reminder = "Reminder " + DueLabel(remindAt, completed: true, now: now, calendar: calendar).text
        }
        toggleLabel = completed ? "Mark “\(title)” as not done" : "Complete “\(title)”"
        nextCompleted = completed ? "false" : "true"
        editHref = "/tasks/\(task.id)"
        parent = task.parentID.map { String($0) } ?? ""
        position = task.position ?? 0
        if task.subtaskCount > 0 {
            progress = SubtaskProgress(text: "\(task.subtasksDone)/\(task.subtaskCount)",
                                       label: "\(task.subtasksDone) of \(task.subtaskCount) sub-tasks done")
        }
    }

    /// The page's rows with each sub-task right under its parent when the parent is on the same
    /// page, indented by its depth; the others keep the page's order, a sub-task among them with a
    /// link to its parent. One pass over the page.
    static func nested(_ tasks: [TodoTask], rows: [TaskRow]) -> [TaskRow] {
        let onPage = Set(tasks.map(\.id))
        var children: [TaskID: [Int]] = [:], roots: [Int] = []
        for (index, task) in tasks.enumerated() {
            if let parent = task.parentID, onPage.contains(parent) { children[parent, default: []].append(index) } else { roots.append(index) }
        }
        var nested: [TaskRow] = []
        func add(_ index: Int, depth: Int) {
            var row = rows[index]
            row.depth = min(depth, 3)
            nested.append(row)
            for child in children[tasks[index].id] ?? [] { add(child, depth: depth + 1) }
        }
        for root in roots {
            let start = nested.count
            add(root, depth: 0)
            nested[start].parentHref = tasks[root].parentID.map { "/tasks/\($0)" }
        }
        return nested
    }

    /// The rows (already nested) with their drag handle and move forms: each moves among the rows
    /// of its parent, to the midpoint of the two it lands between, or a step past the end one.
    static func inManualOrder(_ rows: [TaskRow]) -> [TaskRow] {
        var siblings: [String: [Int]] = [:]
        for (index, row) in rows.enumerated() { siblings[row.parent, default: []].append(index) }
        var rows = rows
        for indices in siblings.values {
            let positions = indices.map { rows[$0].position }
            for (place, index) in indices.enumerated() {
                let title = rows[index].title
                rows[index].orderable = true
                if place > 0 {
                    rows[index].moves.append(.up(title, to: between(place > 1 ? positions[place - 2] : nil, positions[place - 1])))
                }
                if place < positions.count - 1 {
                    rows[index].moves.append(.down(title, to: between(positions[place + 1], positions.dropFirst(place + 2).first)))
                }
            }
        }
        return rows
    }

    /// A position between two neighbours', either of which may be missing (an end of the list).
    static func between(_ before: Double?, _ after: Double?) -> Double {
        switch (before, after) {
        case let (before?, after?): (before + after) / 2
        case let (before?, nil): before + ManualOrder.step
        case let (nil, after?): after - ManualOrder.step
        case (nil, nil): ManualOrder.step
        }
    }

    static func describe(_ recurrence: Recurrence) -> String {
        let unit = ["daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"][recurrence.frequency.rawValue] ?? "time"
        return recurrence.interval == 1 ? "Every \(unit)" : "Every \(recurrence.interval) \(unit)s"
    }
}

struct Option {
    var value: String
    var label: String
    var selected: Bool
}

/// The search, filters and order of the task list, read from the query string.
struct ListFilters {
    var search = ""
    var status = "pending"
    var priority = ""
    var tag = ""
    var due = ""
    var sort = "due"
    /// The project whose tasks are shown (its id), or empty for every project.
    var project = ""
    var cursor: String?

    static let statuses = [("pending", "To do"), ("completed", "Done"), ("all", "All")]
    static let priorities = [("", "Any"), ("high", "High"), ("medium", "Medium"), ("low", "Low"), ("none", "None")]
    static let dues = [("", "Any time"), ("overdue", "Overdue"), ("by-today", "Today and overdue"), ("today", "Today"), ("week", "Next 7 days")]
    static let sorts = [("due", "Due date"), ("-priority", "Priority"), ("title", "Title"), ("-created", "Newest"), ("-updated", "Last changed")]
    /// A project's own order, which its members set by hand: the default there, and offered only there.
    static let manualSort = ("position", "Manual")

    init(_ query: FormData) {
        search = String((query.text("q") ?? "").prefix(TaskQuery.maximumSearchLength))
        status = Self.pick(query["status"], from: Self.statuses) ?? status
        priority = Self.pick(query["priority"], from: Self.priorities) ?? priority
        tag = (query.text("tag") ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "#"))
        due = Self.pick(query["due"], from: Self.dues) ?? due
        cursor = query.text("cursor")
        if let id = query.text("project").flatMap(ProjectID.init), id > 0 { project = String(id) }
        sort = Self.pick(query["sort"], from: sortChoices) ?? defaultSort
    }

    /// The orders this view offers: a project's list adds (and starts in) its manual order.
    var sortChoices: [(String, String)] { project.isEmpty ? Self.sorts : [Self.manualSort] + Self.sorts }

    var defaultSort: String { sortChoices[0].0 }

    /// Whether the list is the project's whole manual order, where its tasks can be moved: its own
    /// order, no search or filter, one page.
    var showsManualOrder: Bool { sort == Self.manualSort.0 && !isFiltered && cursor == nil }

    static func pick(_ value: String?, from options: [(String, String)]) -> String? {
        guard let value, options.contains(where: { $0.0 == value }) else { return nil }
        return value
    }

    /// The tasks this view shows, read with the backend's own reader of list parameters, so that a
    /// tag or cursor from the address that the backend would refuse fails here with its message.
    func taskQuery(now: Timestamp, clock: LocalClock, limit: Int) throws(ValidationError) -> TaskQuery {
        var parameters: [(name: String, value: String)] = [("status", status), ("sort", sort), ("limit", String(limit))]
        if !search.isEmpty { parameters.append(("q", search)) }
        if !priority.isEmpty { parameters.append(("priority", priority)) }
        if !tag.isEmpty { parameters.append(("tag", tag)) }
        if !project.isEmpty { parameters.append(("project", project)) }
        switch due {
        case "overdue": parameters.append(("due_before", now.rfc3339))
        case "by-today": parameters.append(("due_before", clock.startOfDay(now, addingDays: 1).rfc3339))
        case "today":
            parameters.append(("due_after", clock.startOfDay(now).rfc3339))
            parameters.append(("due_before", clock.startOfDay(now, addingDays: 1).rfc3339))
        case "week":
            parameters.append(("due_after", clock.startOfDay(now).rfc3339))
            parameters.append(("due_before", clock.startOfDay(now, addingDays: 7).rfc3339))
        default: break
        }
        if let cursor { parameters.append(("cursor", cursor)) }
        return try TaskQuery(parameters: parameters)
    }

    /// This view's query string (without the page cursor).
    var queryPairs: [(String, String)] {
        var pairs: [(String, String)] = []
        if !search.isEmpty { pairs.append(("q", search)) }
        if status != "pending" { pairs.append(("status", status)) }
        if !priority.isEmpty { pairs.append(("priority", priority)) }
        if !tag.isEmpty { pairs.append(("tag", tag)) }
        if !due.isEmpty { pairs.append(("due", due)) }
        if sort != defaultSort { pairs.append(("sort", sort)) }
        if !project.isEmpty { pairs.append(("project", project)) }
        return pairs
    }

    var path: String {
        let query = Self.query(queryPairs)
        return query.isEmpty ? "/" : "/?" + query
    }

    var isFiltered: Bool { !search.isEmpty || !priority.isEmpty || !tag.isEmpty || !due.isEmpty || status != "pending" }

    func options(_ list: [(String, String)], selected: String) -> [Option] {
        list.map { Option(value: $0.0, label: $0.1, selected: $0.0 == selected) }
    }

    static func query(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { name, value in
            name + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
    }
}
