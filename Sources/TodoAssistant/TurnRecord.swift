import Foundation
import TodoCore

/// Ends a turn at its deadline: each wait of the turn (for the tools, the model, a tool call) races
/// the one deadline of the turn in a task group, and the loser is cancelled. A model call that hangs,
/// or retries for minutes, is cut at the deadline instead of being noticed after it returns.
struct TurnDeadline: Sendable {
    let instant: ContinuousClock.Instant

    init(after limit: Duration) {
        instant = .now + limit
    }

    /// `work`'s result, or `TurnTimedOut` once the deadline has passed (`work` is then cancelled).
    func race<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(until: instant, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else { throw TurnTimedOut() }
            return result
        }
    }
}

struct TurnTimedOut: Error {}

/// What a turn has said and done so far, consistent at every point where it can stop: every call
/// of a stored assistant message has its tool message, so the conversation can be sent to a model
/// again, and the calls that ran are listed with their results.
struct TurnRecord {
    let history: [ChatMessage]
    /// The user's message, then the turn's assistant and tool messages.
    private(set) var messages: [ChatMessage]
    /// The calls that ran (or failed), for the answer's `tool_calls`.
    private(set) var performed: [ToolCall] = []
    /// Calls that changed or deleted a task this turn: a second change needs the user's confirmation.
    private(set) var changedTasks = 0
    /// The assistant message whose calls are running, and how many of them have an answer.
    private var openStep: (index: Int, answered: Int)?

    init(history: [ChatMessage], user: ChatMessage) {
        self.history = history
        messages = [user]
    }

    /// What the model is sent next.
    var conversation: [ChatMessage] { history + messages }

    /// Stores the assistant message asking for `calls`; each then needs `answerNextCall`.
    mutating func open(_ calls: [ToolCall], content: String) {
        messages.append(ChatMessage(role: .assistant, content: content, toolCalls: calls, createdAt: .now()))
        openStep = (messages.count - 1, 0)
    }

    /// Records the outcome of the open step's next call, in order.
    mutating func answerNextCall(_ outcome: ToolOutcome) {
        guard let (index, answered) = openStep else { return }
        var call = messages[index].toolCalls[answered]
        call.result = outcome.structured ?? .string(outcome.text)
        call.isError = outcome.isError
        messages[index].toolCalls[answered] = call
        messages.append(ChatMessage(role: .tool, content: outcome.text, toolCallID: call.id, createdAt: .now()))
        performed.append(call)
        if UserConfirmation.changes(UserConfirmation.effect(of: call)) { changedTasks += 1 }
        openStep = answered + 1 < messages[index].toolCalls.count ? (index, answered + 1) : nil
    }

    /// The calls of a step cut short get an answer saying so, as errors.
    mutating func abandonOpenStep() {
        while openStep != nil {
            answerNextCall(ToolOutcome(text: Self.unfinished, structured: nil, isError: true))
        }
    }

    static let unfinished = "Not finished: the turn reached its time limit, so this call may or may not have taken effect."

    /// The model's answer ends the turn.
    func answered(_ text: String) -> AgentTurn {
        var messages = self.messages
        messages.append(ChatMessage(role: .assistant, content: text, createdAt: .now()))
        return AgentTurn(messages: messages, response: text, toolCalls: performed)
    }

    /// The turn stops early with `text`, followed by a list of what it did.
    func stopped(_ text: String) -> AgentTurn {
        var record = self
        record.abandonOpenStep()
        let done = record.performed.map { "• \($0.name)\($0.isError ? " (failed)" : "")" }
        return record.answered(([text] + done).joined(separator: "\n"))
    }

    /// The turn ends by asking the user to confirm `calls`, which are stored without running.
    func proposing(_ calls: [ToolCall]) -> AgentTurn {
        let held = calls.map { call in
            var held = call
            held.needsConfirmation = true
            return held
        }
        let question = UserConfirmation.question(for: held, titles: UserConfirmation.knownTitles(in: conversation))
        var messages = self.messages
        messages.append(ChatMessage(role: .assistant, content: question, toolCalls: held, createdAt: .now()))
        return AgentTurn(messages: messages, response: question, toolCalls: performed)
    }
}
