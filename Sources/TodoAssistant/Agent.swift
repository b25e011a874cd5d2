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
    public var messages: [ChatMessage]
    public var response: String
    public var toolCalls: [ToolCall]
}

/// The tool loop: the model asks for tools, they run, their results go back to the model,
/// until it answers in words. Bounded in steps and time; a failing model or tool becomes a
/// friendly answer, never an error for the user.
public struct Agent: Sendable {
    let model: any ChatModel
    let maxSteps: Int
    let timeLimit: Duration
    let logger: Logger

    public init(model: any ChatModel, maxSteps: Int = 6, timeLimit: Duration = .seconds(90), logger: Logger) {
        self.model = model
        self.maxSteps = maxSteps
        self.timeLimit = timeLimit
        self.logger = logger
    }

    public func respond(to text: String, history: [ChatMessage], tools runner: any ToolRunner, context: ModelContext) async -> AgentTurn {
        let deadline = ContinuousClock.now + timeLimit
        var conversation = history
        var turn = [ChatMessage(role: .user, content: text, createdAt: context.now)]
        conversation += turn
        var performed: [ToolCall] = []
        do {
            let tools = try await runner.tools()
            for _ in 0..<maxSteps {
                guard ContinuousClock.now < deadline else { break }
                let reply = try await model.complete(messages: conversation, tools: tools, context: context)
                guard !reply.toolCalls.isEmpty else {
                    let answer = ChatMessage(role: .assistant, content: reply.content, createdAt: .now())
                    return AgentTurn(messages: turn + [answer], response: reply.content, toolCalls: performed)
                }
                var step = [ChatMessage(role: .assistant, content: reply.content, toolCalls: reply.toolCalls, createdAt: .now())]
                for call in reply.toolCalls {
                    let outcome = try await run(call, with: runner)
                    var done = call
                    done.result = outcome.structured ?? .string(outcome.text)
                    done.isError = outcome.isError
                    performed.append(done)
                    step.append(ChatMessage(role: .tool, content: outcome.text, toolCallID: call.id, createdAt: .now()))
                }
                step[0].toolCalls = performed.suffix(reply.toolCalls.count)
                conversation += step
                turn += step
            }
            return finish(turn, performed, "I stopped there: that took more steps than I allow myself. Here is what I did so far.")
        } catch {
            // The provider's or the transport's words stay in the log: they can carry internals
            // (and, echoed by some providers, parts of a key), so users and history get none.
            logger.warning("assistant failed", metadata: ["model": "\(model.name)", "error": "\(LogRedaction.redact(String(describing: error)))"])
            return finish(turn, performed, "Sorry, the assistant is unavailable right now. Please try again in a moment.")
        }
    }

    private func run(_ call: ToolCall, with runner: any ToolRunner) async throws -> ToolOutcome {
        do {
            return try await runner.call(call.name, arguments: call.arguments)
        } catch let error as ToolsUnavailable {
            throw error
        } catch {
            logger.warning("tool call failed", metadata: ["tool": "\(call.name)", "error": "\(LogRedaction.redact(String(describing: error)))"])
            return ToolOutcome(text: "The tool \(call.name) failed.", structured: nil, isError: true)
        }
    }

    private func finish(_ turn: [ChatMessage], _ performed: [ToolCall], _ text: String) -> AgentTurn {
        let summary = performed.isEmpty ? text : text + "\n" + performed.map { "• \($0.name)\($0.isError ? " (failed)" : "")" }.joined(separator: "\n")
        return AgentTurn(messages: turn + [ChatMessage(role: .assistant, content: summary, createdAt: .now())],
                         response: summary, toolCalls: performed)
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
