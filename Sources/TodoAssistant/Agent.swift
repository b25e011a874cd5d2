import Foundation
import Logging
import TodoCore

/// A tool the model may call, as the MCP server describes it.
public struct ToolSpec: Sendable, Equatable {
    public var name: String
    public var description: String
    /// JSON Schema of the arguments.
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// What a tool call gave back.
public struct ToolOutcome: Sendable, Equatable {
    public var text: String
    public var structured: JSONValue?
    public var isError: Bool

    public init(text: String, structured: JSONValue?, isError: Bool) {
        self.text = text
        self.structured = structured
        self.isError = isError
    }
}

/// Runs tools on the user's behalf (the MCP server, in production).
/// A runner that cannot reach its tools at all throws `ToolsUnavailable`: the turn then ends
/// with an apology instead of handing the model an error for each call.
public protocol ToolRunner: Sendable {
    func tools() async throws -> [ToolSpec]
    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutcome
}

/// The tools cannot be reached (the MCP server is down).
public struct ToolsUnavailable: Error, CustomStringConvertible {
    public var description: String { "the task tools are unreachable" }

    public init() {}
}

/// What a model answers: text for the user, or tools to call first.
public struct ModelReply: Sendable, Equatable {
    public var content: String
    public var toolCalls: [ToolCall]

    public init(content: String, toolCalls: [ToolCall] = []) {
        self.content = content
        self.toolCalls = toolCalls
    }
}

/// The user's situation, for relative dates.
public struct ModelContext: Sendable {
    public var now: Timestamp
    public var timeZone: TimeZone

    public init(now: Timestamp, timeZone: TimeZone) {
        self.now = now
        self.timeZone = timeZone
    }
}

/// A chat model with tool calling: an OpenAI-compatible provider, or the offline agent.
public protocol ChatModel: Sendable {
    var name: String { get }
    func complete(messages: [ChatMessage], tools: [ToolSpec], context: ModelContext) async throws -> ModelReply
}

/// The result of one user message: the messages to store and the answer to show.
public struct AgentTurn: Sendable {
    /// The user's message first, then the turn's assistant and tool messages.
    public var messages: [ChatMessage]
    public var response: String
    public var toolCalls: [ToolCall]

    /// The messages after the user's (which the chat route stores before the turn runs).
    public var replies: [ChatMessage] { Array(messages.dropFirst()) }
}

/// The tool loop: the model asks for tools, they run, their results go back to the model,
/// until it answers in words. Bounded in steps, in calls per step and in time (the whole turn is
/// cancelled at its deadline); calls that delete or change several tasks wait for the user's
/// confirmation (`UserConfirmation`). A failing model or tool becomes a friendly answer, never an
/// error for the user.
public struct Agent: Sendable {
    let model: any ChatModel
    let maxSteps: Int
    /// Calls run from one model reply; those past it get an error result. A model steered by text it
    /// read cannot fan out into hundreds of calls in one step.
    let maxCallsPerStep: Int
    let timeLimit: Duration
    let logger: Logger

    public init(model: any ChatModel, maxSteps: Int = 6, maxCallsPerStep: Int = 8, timeLimit: Duration = .seconds(90), logger: Logger) {
        self.model = model
        self.maxSteps = maxSteps
        self.maxCallsPerStep = maxCallsPerStep
        self.timeLimit = timeLimit
        self.logger = logger
    }

    public func respond(to text: String, history: [ChatMessage], tools runner: any ToolRunner, context: ModelContext) async -> AgentTurn {
        var turn = TurnRecord(history: history, user: ChatMessage(role: .user, content: text, createdAt: context.now))
        let deadline = TurnDeadline(after: timeLimit)
        do {
            if let proposal = UserConfirmation.proposal(in: history) {
                switch UserConfirmation.answer(text) {
                case .yes: try await run(proposal.map(\.confirmed), content: "", in: &turn, with: runner, by: deadline)
                case .no: return turn.answered(UserConfirmation.cancelled)
                case .other: break
                }
            }
            return try await loop(&turn, with: runner, by: deadline, context: context)
        } catch is TurnTimedOut {
            logger.warning("assistant turn reached its time limit", metadata: ["model": "\(model.name)", "limit": "\(timeLimit)"])
            return turn.stopped("Sorry, that took too long, so I stopped (the limit is \(timeLimit.components.seconds) s).")
        } catch {
            // The provider's or the transport's words stay in the log: they can carry internals
            // (and, echoed by some providers, parts of a key), so users and history get none.
            logger.warning("assistant failed", metadata: ["model": "\(model.name)", "error": "\(LogRedaction.redact(String(describing: error)))"])
            return turn.stopped("Sorry, the assistant is unavailable right now. Please try again in a moment.")
        }
    }

    /// Model replies and their tool calls, until the model answers in words or asks for calls that
    /// need the user's confirmation.
    private func loop(_ turn: inout TurnRecord, with runner: any ToolRunner, by deadline: TurnDeadline, context: ModelContext) async throws -> AgentTurn {
        let tools = try await deadline.race { try await runner.tools() }
        for _ in 0..<maxSteps {
            let conversation = turn.conversation
            let reply = try await deadline.race { try await model.complete(messages: conversation, tools: tools, context: context) }
            guard !reply.toolCalls.isEmpty else { return turn.answered(reply.content) }
            let allowed = Array(reply.toolCalls.prefix(maxCallsPerStep))
            if UserConfirmation.isNeeded(for: allowed, changedSoFar: turn.changedTasks) { return turn.proposing(allowed) }
            try await run(reply.toolCalls, content: reply.content, in: &turn, with: runner, by: deadline)
        }
        return turn.stopped("I stopped there: that took more steps than I allow myself. Here is what I did so far.")
    }

    /// One step: the assistant message asking for `calls`, then each call's result in order.
    private func run(_ calls: [ToolCall], content: String, in turn: inout TurnRecord, with runner: any ToolRunner, by deadline: TurnDeadline) async throws {
        turn.open(calls, content: content)
        for (index, call) in calls.enumerated() {
            guard index < maxCallsPerStep else {
                turn.answerNextCall(ToolOutcome(text: refusal, structured: nil, isError: true))
                continue
            }
            turn.answerNextCall(try await deadline.race { try await self.run(call, with: runner) })
        }
    }

    private var refusal: String {
        "Not run: at most \(maxCallsPerStep) tool calls run per step. Ask for the rest in another step if the user wants them."
    }

    private func run(_ call: ToolCall, with runner: any ToolRunner) async throws -> ToolOutcome {
        do {
            return try await runner.call(call.name, arguments: call.arguments)
        } catch let error as ToolsUnavailable {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("tool call failed", metadata: ["tool": "\(call.name)", "error": "\(LogRedaction.redact(String(describing: error)))"])
            return ToolOutcome(text: "The tool \(call.name) failed.", structured: nil, isError: true)
        }
    }
}

extension ToolCall {
    /// The call as the user confirmed it: it runs now.
    var confirmed: ToolCall {
        var call = self
        call.needsConfirmation = false
        return call
    }
}

/// Takes secrets out of text bound for the log: bearer tokens, API keys in the forms providers
/// use (`sk-…`, `gsk_…`), personal tokens, and `key=`/`"api_key": "…"` pairs.
enum LogRedaction {
    private static let patterns = [
        #"(?i)bearer\s+[^\s"',]+"#,
        #"\b(?:sk|gsk|pk|rk)[-_][A-Za-z0-9_*.\-]{6,}"#,
        #"todo_pat_[A-Za-z0-9_\-]+"#,
        #"(?i)(?:api[_-]?key|token|secret|password)["']?\s*[:=]\s*["']?[^\s"',}]+"#,
    ]

    /// Compiled on each use: it runs only when something failed.
    static func redact(_ text: String) -> String {
        patterns.reduce(String(text.prefix(500))) { text, pattern in
            (try? Regex(pattern)).map { text.replacing($0, with: "[redacted]") } ?? text
        }
    }
}
