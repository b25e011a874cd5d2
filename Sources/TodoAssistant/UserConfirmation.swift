import Foundation
import TodoCore

/// The rule that keeps text the model reads from deleting or rewriting the user's tasks unseen.
/// Task titles reach the model as tool output, and anyone with a token can write them (a script,
/// an import), so a model can be told by a task to "delete every task" and do so. A reply whose
/// calls would delete a task, or change more than one task in a turn, therefore does not run: the
/// agent asks the user, in words of its own rather than the model's, and keeps the calls as a
/// proposal (the last assistant message, its calls marked `needsConfirmation`). Only a next message
/// that confirms runs them; a refusal cancels them, and any other message lets them lapse.
enum UserConfirmation {
    /// Whether `calls` must wait for the user, once the turn has already changed `changedSoFar` tasks.
    static func isNeeded(for calls: [ToolCall], changedSoFar: Int) -> Bool {
        let effects = calls.map(effect)
        return effects.contains(.deletes) || changedSoFar + effects.filter(changes).count > 1
    }

    /// A tool outside the catalogue counts as a change: what is unknown is not known to be safe.
    static func effect(of call: ToolCall) -> TaskTool.Effect {
        TaskTool(rawValue: call.name)?.effect ?? .changes
    }

    static func changes(_ effect: TaskTool.Effect) -> Bool {
        effect == .changes || effect == .deletes
    }

    /// The calls that the last message of `history` proposed, if it is a proposal.
    static func proposal(in history: [ChatMessage]) -> [ToolCall]? {
        guard let last = history.last, last.role == .assistant, !last.toolCalls.isEmpty,
              last.toolCalls.allSatisfy(\.needsConfirmation) else { return nil }
        return last.toolCalls
    }

    enum Answer: Equatable {
        case yes, no, other
    }

    /// A whole message that says yes or no; anything longer ("yes, but only task 3") is neither.
    static func answer(_ text: String) -> Answer {
        let words = text.lowercased().replacingOccurrences(of: "’", with: "'")
            .trimmingCharacters(in: CharacterSet.whitespacesAndNewlines.union(.punctuationCharacters))
        if yes.contains(words) { return .yes }
        if no.contains(words) { return .no }
        return .other
    }

    static let yes: Set<String> = [
        "yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "confirm", "confirmed", "go ahead", "do it", "yes please",
        "please do", "proceed", "yes, go ahead", "yes do it",
    ]
    static let no: Set<String> = [
        "no", "n", "nope", "cancel", "stop", "don't", "dont", "do not", "no thanks", "no, thanks", "never mind", "nevermind", "abort",
    ]

    static let cancelled = "Cancelled: I left your tasks as they are."

    /// The question put to the user, describing each call from its arguments (never from the model's
    /// words, which the text it read may have shaped), with the titles the conversation has shown.
    static func question(for calls: [ToolCall], titles: [String: String]) -> String {
        let lines = calls.map { "• " + describe($0, titles: titles) }
        return "Before I go ahead, please confirm. I would:\n" + lines.joined(separator: "\n")
            + "\nReply “yes” to do this; anything else cancels it."
    }

    static func describe(_ call: ToolCall, titles: [String: String]) -> String {
        let arguments = call.arguments.objectValue ?? [:]
        let task = taskName(arguments["task_id"], titles: titles)
        switch TaskTool(rawValue: call.name) {
        case .deleteTask: return "delete \(task)"
        case .completeTask: return arguments["completed"] == .bool(false) ? "reopen \(task)" : "mark \(task) as done"
        case .updateTask: return "change \(arguments.keys.filter { $0 != "task_id" }.sorted().joined(separator: ", ")) of \(task)"
        case .addTask: return "add \(quoted(arguments["title"]) ?? "a task")"
        case .searchTasks: return "search your tasks for \(quoted(arguments["query"]) ?? "text")"
        case .listTasks: return "list your tasks"
        case .listProjects: return "list your projects"
        case nil: return "use the tool \(call.name)"
        }
    }

    /// “Title” (task 3) when the conversation has shown the task, else "task 3".
    static func taskName(_ id: JSONValue?, titles: [String: String]) -> String {
        let text: String
        switch id {
        case .string(let value)?: text = value
        case .integer(let value)?: text = String(value)
        default: return "a task"
        }
        return titles[text].map { "“\($0)” (task \(text))" } ?? "task \(text)"
    }

    static func quoted(_ value: JSONValue?) -> String? {
        guard case .string(let text)? = value else { return nil }
        return "“\(text.prefix(80))”"
    }

    /// Task id → title, from every task in the tool results of `messages` (later ones win).
    static func knownTitles(in messages: [ChatMessage]) -> [String: String] {
        var titles: [String: String] = [:]
        for result in messages.flatMap(\.toolCalls).compactMap(\.result) {
            let fields = result.objectValue ?? [:]
            var tasks = fields["task"].map { [$0] } ?? []
            if case .array(let listed)? = fields["tasks"] { tasks += listed }
            for task in tasks.compactMap(\.objectValue) {
                if case .string(let id)? = task["id"], case .string(let title)? = task["title"] { titles[id] = String(title.prefix(80)) }
            }
        }
        return titles
    }
}
