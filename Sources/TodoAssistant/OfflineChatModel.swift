import Foundation
import TodoCore

/// The built-in assistant used when no language model is configured. It is not a language
/// model: it recognises the common requests by their patterns ("add buy milk tomorrow",
/// "what's pending?", "mark 'buy milk' done", "delete task 3"), calls the same tools a model
/// would, and says plainly what it cannot do. Deterministic, offline, instant.
public struct OfflineChatModel: ChatModel {
    public var name: String { "offline" }

    public init() {}

    public func complete(messages: [ChatMessage], tools: [ToolSpec], context: ModelContext) async throws -> ModelReply {
        guard let userIndex = messages.lastIndex(where: { $0.role == .user }) else { return ModelReply(content: Self.help) }
        let intent = Intent(messages[userIndex].content, context: context)
        let steps = messages[(userIndex + 1)...].filter { $0.role == .assistant }.flatMap(\.toolCalls)
        let results = messages[(userIndex + 1)...].filter { $0.role == .tool }
        return intent.next(calls: steps, results: Array(results), context: context)
    }

    static let help = """
        I'm the built-in offline assistant: I follow a few patterns rather than free conversation. I can:
        • add tasks — "add buy milk tomorrow 9am !high #shop", "remind me to call mum on friday"
        • list them — "what's pending?", "show completed tasks", "list high priority tasks", "tasks tagged work"
        • search — "find dentist"
        • complete or reopen — "mark 'buy milk' done", "complete task 3", "reopen task 3"
        • change them — "rename task 3 to Buy oat milk", "set priority of task 3 to high", "move 'dentist' to next monday"
        • delete — "delete task 3", "remove 'buy milk'"
        For free-form chat, configure a language model (LLM_BASE_URL, LLM_API_KEY, LLM_MODEL).
        """
}

/// A task named by id ("task 3") or by title ("'buy milk'").
enum TaskReference: Equatable {
    case id(TaskID)
    case title(String)

    init(_ raw: String) {
        var text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        for quote in [("'", "'"), ("\"", "\""), ("“", "”"), ("‘", "’")] where text.hasPrefix(quote.0) && text.hasSuffix(quote.1) && text.count > 1 {
            self = .title(String(text.dropFirst().dropLast()))
            return
        }
        let lowered = text.lowercased()
        for prefix in ["task number ", "task #", "task no. ", "task ", "#", "number ", "no. "] where lowered.hasPrefix(prefix) {
            if let id = TaskID(text.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)), id > 0 {
                self = .id(id)
                return
            }
        }
        if let id = TaskID(text), id > 0 {
            self = .id(id)
            return
        }
        for prefix in ["the task ", "the ", "my ", "task "] where lowered.hasPrefix(prefix) { text = String(text.dropFirst(prefix.count)) }
        for suffix in [" task", " todo"] where text.lowercased().hasSuffix(suffix) { text = String(text.dropLast(suffix.count)) }
        self = .title(text.trimmingCharacters(in: .whitespaces))
    }
}

/// What the user asked for, and how to get it done one tool call at a time.
enum Intent {
    case help
    case add(TaskFields)
    case list(arguments: [String: JSONValue], description: String)
    case search(String)
    case complete(TaskReference, Bool)
    case delete(TaskReference)
    case update(TaskReference, [String: JSONValue], description: String)

    init(_ message: String, context: ModelContext) {
        let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        var lowered = text.lowercased()
        while let last = lowered.last, "?!. ".contains(last) { lowered.removeLast() }
        let original = String(text.prefix(lowered.count))
        self = Self.match(lowered, original, context) ?? .help
    }

    /// The text after the first of `prefixes` that `lowered` starts with, from the original text (case kept).
    static func rest(_ lowered: String, _ original: String, after prefixes: [String]) -> String? {
        for prefix in prefixes where lowered.hasPrefix(prefix) {
            let rest = original.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
            if !rest.isEmpty { return rest }
        }
        return nil
    }

    /// `what`, cut around the first `separator` (case-insensitive): the parts before and after.
    static func split(_ text: String, on separators: [String]) -> (String, String)? {
        for separator in separators {
            if let range = text.range(of: separator, options: .caseInsensitive) {
                let before = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let after = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
                if !before.isEmpty, !after.isEmpty { return (before, after) }
            }
        }
        return nil
    }

    static func match(_ lowered: String, _ original: String, _ context: ModelContext) -> Intent? {
        if ["help", "hi", "hello", "hey", "what can you do", "how does this work", "commands"].contains(lowered) { return .help }

        if let task = rest(lowered, original, after: [
            "add a new task:", "add a new task", "add a task:", "add a task", "add task:", "add task", "add new task", "add",
            "create a task:", "create a task", "create task", "create", "new task:", "new task", "todo:", "remind me to",
            "i need to", "i have to", "i must", "don't forget to", "do not forget to",
        ]) {
            let parsed = QuickAdd.parse(task, now: context.now, timeZone: context.timeZone)
            return parsed.fields.map(Intent.add)
        }

        if let target = rest(lowered, original, after: ["reopen", "uncomplete", "un-complete", "undo"]) {
            return .complete(TaskReference(target), false)
        }
        for state in [" as not done", " as incomplete", " as undone", " as pending", " as open", " not done", " incomplete", " undone"] {
            if lowered.hasPrefix("mark "), lowered.hasSuffix(state) {
                return .complete(TaskReference(String(original.dropFirst(5).dropLast(state.count))), false)
            }
        }
        for state in [" as done", " as complete", " as completed", " as finished", " done", " complete", " completed", " finished"] {
            if lowered.hasPrefix("mark ") || lowered.hasPrefix("set "), lowered.hasSuffix(state) {
                let start = lowered.hasPrefix("mark ") ? 5 : 4
                return .complete(TaskReference(String(original.dropFirst(start).dropLast(state.count))), true)
            }
            if lowered.hasSuffix(" is done") || lowered.hasSuffix(" is finished") {
                let cut = lowered.hasSuffix(" is done") ? 8 : 12
                return .complete(TaskReference(String(original.dropLast(cut))), true)
            }
        }
        if let target = rest(lowered, original, after: [
            "complete", "finish", "check off", "tick off", "close", "i finished", "i completed", "i did", "done with", "done:",
        ]) {
            return .complete(TaskReference(target), true)
        }

        if let target = rest(lowered, original, after: ["delete", "remove", "drop", "get rid of", "cancel", "erase"]) {
            return .delete(TaskReference(target))
        }

        if let target = rest(lowered, original, after: ["rename"]), let (task, title) = split(target, on: [" to ", " as "]) {
            return .update(TaskReference(task), ["title": .string(title)], description: "renamed it to “\(title)”")
        }
        for verb in ["set the priority of", "set priority of", "change the priority of", "change priority of"] {
            if let target = rest(lowered, original, after: [verb]), let (task, level) = split(target, on: [" to "]),
               let priority = Priority(rawValue: level.lowercased()) {
                return .update(TaskReference(task), ["priority": .string(priority.rawValue)], description: "set its priority to \(priority.rawValue)")
            }
        }
        for level in Priority.allCases where lowered.hasPrefix("make ") && lowered.hasSuffix(" \(level.rawValue) priority") {
            let task = String(original.dropFirst(5).dropLast(" \(level.rawValue) priority".count))
            return .update(TaskReference(task), ["priority": .string(level.rawValue)], description: "set its priority to \(level.rawValue)")
        }
        if let target = rest(lowered, original, after: ["move", "reschedule", "postpone", "push"]),
           let (task, when) = split(target, on: [" to ", " until "]) {
            let parsed = QuickAdd.parse("x " + when, now: context.now, timeZone: context.timeZone)
            guard let due = parsed.dueAt else { return nil }
            return .update(TaskReference(task), ["due_at": .string(due.rfc3339)], description: "moved it to \(Describe.time(due, context))")
        }

        if let query = rest(lowered, original, after: [
            "search for", "search", "find", "look for", "look up", "anything about", "do i have anything about", "is there a task about",
        ]) {
            return .search(query)
        }

        return listIntent(lowered, context)
    }

    static func listIntent(_ lowered: String, _ context: ModelContext) -> Intent? {
        let asksToList = ["what", "show", "list", "which", "how many", "do i have", "display", "my tasks", "tasks", "todo", "agenda"]
            .contains { lowered.contains($0) }
        guard asksToList else { return nil }
        var arguments: [String: JSONValue] = [:]
        var words: [String] = []
        if ["pending", "to do", "todo", "open", "outstanding", "left", "remaining", "unfinished", "not done"].contains(where: lowered.contains) {
            arguments["status"] = "pending"
            words.append("pending")
        } else if ["completed", "done", "finish", "closed"].contains(where: lowered.contains) {
            arguments["status"] = "completed"
            words.append("completed")
        }
        for level in [Priority.high, .medium, .low] where lowered.contains("\(level.rawValue) priority") || lowered.contains("!\(level.rawValue)") {
            arguments["priority"] = .string(level.rawValue)
            words.append("\(level.rawValue)-priority")
        }
        if let range = lowered.range(of: "tagged ") ?? lowered.range(of: "with tag ") ?? lowered.range(of: "#") {
            let tag = lowered[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
            if case .success(let normalized) = Tag.normalized(tag) {
                arguments["tag"] = .string(normalized)
                words.append("tagged #\(normalized)")
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = context.timeZone
        let now = Date(timeIntervalSince1970: Double(context.now.millisecondsSinceEpoch) / 1000)
        let today = calendar.startOfDay(for: now)
        func stamp(_ date: Date?) -> JSONValue { date.map { .string(Timestamp(millisecondsSinceEpoch: Int64($0.timeIntervalSince1970 * 1000)).rfc3339) } ?? .null }
        if lowered.contains("overdue") {
            arguments["due_before"] = .string(context.now.rfc3339)
            arguments["status"] = "pending"
            words = ["overdue"]
        } else if lowered.contains("today") {
            arguments["due_after"] = stamp(today)
            arguments["due_before"] = stamp(calendar.date(byAdding: .day, value: 1, to: today))
            words.append("due today")
        } else if lowered.contains("tomorrow") {
            arguments["due_after"] = stamp(calendar.date(byAdding: .day, value: 1, to: today))
            arguments["due_before"] = stamp(calendar.date(byAdding: .day, value: 2, to: today))
            words.append("due tomorrow")
        } else if lowered.contains("this week") {
            arguments["due_after"] = stamp(today)
            arguments["due_before"] = stamp(calendar.date(byAdding: .day, value: 7, to: today))
            words.append("due in the next 7 days")
        }
        if arguments["due_after"] != nil || arguments["due_before"] != nil { arguments["sort"] = "due" }
        return .list(arguments: arguments, description: words.joined(separator: " "))
    }

    // MARK: Steps

    /// The next step: a tool call, or the final answer once the tools have answered.
    func next(calls: [ToolCall], results: [ChatMessage], context: ModelContext) -> ModelReply {
        let step = calls.count
        switch self {
        case .help:
            return ModelReply(content: OfflineChatModel.help)
        case .add(let fields):
            guard step > 0 else { return Self.call("add_task", Self.arguments(fields)) }
            return Self.confirm(calls, results) { "Added " + Describe.task($0, context) + "." }
        case .list(let arguments, let description):
            guard step > 0 else { return Self.call("list_tasks", arguments) }
            return Self.confirm(calls, results) { _ in Describe.list(calls.last?.result, description: description, context) }
        case .search(let query):
            guard step > 0 else { return Self.call("search_tasks", ["query": .string(query)]) }
            return Self.confirm(calls, results) { _ in Describe.list(calls.last?.result, description: "matching “\(query)”", context) }
        case .complete(let reference, let completed):
            return resolve(reference, calls, results, context: context) { id in
                ("complete_task", ["task_id": .string(String(id)), "completed": .bool(completed)])
            } confirm: { task in
                completed ? "Marked \(Describe.task(task, context, details: false)) as done." : "Reopened \(Describe.task(task, context, details: false))."
            }
        case .delete(let reference):
            let known = calls.first?.name == "search_tasks" ? Describe.matches(calls.first?.result, reference).first : nil
            return resolve(reference, calls, results, context: context) { id in
                ("delete_task", ["task_id": .string(String(id))])
            } confirm: { _ in
                var name = "the task"
                if case .id(let id) = reference { name = "task \(id)" }
                return "Deleted " + (known.map { Describe.task($0, context, details: false) } ?? name) + "."
            }
        case .update(let reference, let changes, let description):
            return resolve(reference, calls, results, context: context) { id in
                ("update_task", changes.merging(["task_id": .string(String(id))]) { $1 })
            } confirm: { task in
                "Updated \(Describe.task(task, context, details: false)): \(description)."
            }
        }
    }

    /// Acts on a task named by id at once, or by title after finding it with `search_tasks`.
    private func resolve(
        _ reference: TaskReference, _ calls: [ToolCall], _ results: [ChatMessage], context: ModelContext,
        action: (TaskID) -> (String, [String: JSONValue]), confirm: @escaping ([String: JSONValue]) -> String
    ) -> ModelReply {
        switch (reference, calls.count) {
        case (.id(let id), 0):
            let (name, arguments) = action(id)
            return Self.call(name, arguments)
        case (.title(let title), 0):
            return Self.call("search_tasks", ["query": .string(title)])
        case (.title(let title), 1):
            if calls[0].isError { return ModelReply(content: "I couldn't look that up: \(results.last?.content ?? "unknown error")") }
            let matches = Describe.matches(calls[0].result, reference)
            guard let only = matches.first else { return ModelReply(content: "I couldn't find a task matching “\(title)”.") }
            guard matches.count == 1, case .string(let idText)? = only["id"], let id = TaskID(idText) else {
                let options = matches.prefix(5).map { "• " + Describe.task($0, context, details: false) }
                return ModelReply(content: "Several tasks match “\(title)”:\n\(options.joined(separator: "\n"))\nWhich one? Name it by its number, e.g. “task 12”.")
            }
            let (name, arguments) = action(id)
            return Self.call(name, arguments)
        default:
            return Self.confirm(calls, results) { confirm($0) }
        }
    }

    static func call(_ name: String, _ arguments: [String: JSONValue]) -> ModelReply {
        ModelReply(content: "", toolCalls: [ToolCall(id: "call_\(name)_\(UUID().uuidString.prefix(8).lowercased())", name: name, arguments: .object(arguments))])
    }

    /// The final answer from the last tool's result, or its error.
    static func confirm(_ calls: [ToolCall], _ results: [ChatMessage], _ describe: ([String: JSONValue]) -> String) -> ModelReply {
        guard let last = calls.last else { return ModelReply(content: OfflineChatModel.help) }
        if last.isError {
            let reason = results.last?.content ?? "the tool failed"
            return ModelReply(content: "I couldn't do that: \(reason)" + (reason.hasSuffix(".") ? "" : "."))
        }
        let task = last.result?.objectValue?["task"]?.objectValue ?? [:]
        return ModelReply(content: describe(task))
    }

    static func arguments(_ fields: TaskFields) -> [String: JSONValue] {
        var arguments: [String: JSONValue] = ["title": .string(fields.title)]
        if fields.priority != .none { arguments["priority"] = .string(fields.priority.rawValue) }
        if !fields.tags.isEmpty { arguments["tags"] = .array(fields.tags.map(JSONValue.string)) }
        if let due = fields.dueAt { arguments["due_at"] = .string(due.rfc3339) }
        if let recurrence = fields.recurrence, let data = try? JSONEncoder().encode(recurrence),
           let value = try? JSONDecoder().decode(JSONValue.self, from: data) {
            arguments["recurrence"] = value
        }
        return arguments
    }
}

/// Words for tasks and lists in answers.
enum Describe {
    static func task(_ task: [String: JSONValue], _ context: ModelContext, details: Bool = true) -> String {
        var title = "the task"
        if case .string(let text)? = task["title"] { title = "“\(text)”" }
        if case .string(let id)? = task["id"] { title += " (task \(id))" }
        guard details else { return title }
        var parts: [String] = []
        if case .string(let due)? = task["due_at"], let time = Timestamp(rfc3339: due) { parts.append("due \(self.time(time, context))") }
        if case .string(let priority)? = task["priority"], priority != "none" { parts.append("\(priority) priority") }
        if case .array(let tags)? = task["tags"], !tags.isEmpty {
            parts.append(tags.compactMap { if case .string(let tag) = $0 { return "#\(tag)" } else { return nil } }.joined(separator: " "))
        }
        return parts.isEmpty ? title : "\(title), \(parts.joined(separator: ", "))"
    }

    static func list(_ result: JSONValue?, description: String, _ context: ModelContext) -> String {
        guard case .array(let tasks)? = result?.objectValue?["tasks"] else { return "I couldn't read the list." }
        let what = description.isEmpty ? "tasks" : "\(description) tasks".replacingOccurrences(of: "matching “", with: "tasks matching “")
            .replacingOccurrences(of: "” tasks", with: "”")
        guard !tasks.isEmpty else { return "You have no \(what)." }
        let lines = tasks.prefix(20).compactMap(\.objectValue).map { task -> String in
            var done = false
            if case .bool(let flag)? = task["completed"] { done = flag }
            return "• \(done ? "✓ " : "")" + self.task(task, context)
        }
        let more = tasks.count > 20 ? "\n…and \(tasks.count - 20) more." : ""
        return "You have \(tasks.count) \(tasks.count == 1 ? what.replacingOccurrences(of: "tasks", with: "task") : what):\n" + lines.joined(separator: "\n") + more
    }

    /// The tasks of a search result that a title reference means: exact title matches if any, else all.
    static func matches(_ result: JSONValue?, _ reference: TaskReference) -> [[String: JSONValue]] {
        guard case .array(let items)? = result?.objectValue?["tasks"] else { return [] }
        let tasks = items.compactMap(\.objectValue)
        guard case .title(let title) = reference else { return tasks }
        let exact = tasks.filter { task in
            if case .string(let text)? = task["title"] { return text.lowercased() == title.lowercased() }
            return false
        }
        return exact.isEmpty ? tasks : exact
    }

    static func time(_ time: Timestamp, _ context: ModelContext) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = context.timeZone
        let date = Date(timeIntervalSince1970: Double(time.millisecondsSinceEpoch) / 1000)
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date)
        let weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][(parts.weekday ?? 1) - 1]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(parts.month ?? 1) - 1]
        func two(_ number: Int?) -> String { (number ?? 0) < 10 ? "0\(number ?? 0)" : "\(number ?? 0)" }
        return "\(weekday) \(parts.day ?? 1) \(month) \(parts.year ?? 1970), \(two(parts.hour)):\(two(parts.minute))"
    }
}
