import Foundation
import Hummingbird
import TodoClient
import TodoCore

/// The assistant without JavaScript: a page with a form. (With JavaScript, the chat panel of
/// every page talks to `/api/me/chat` through the proxy instead.)
struct ChatPages: Sendable {
    let client: TodoClient
    let views: Views

    struct ChatPage {
        var chrome: Chrome
        var messages: [Message]
        var hasMessages: Bool
        var conversationID: String
        var notice: String?
    }

    struct Message {
        var text: String
        var fromUser: Bool
        var who: String
    }

    static let unavailable = "The assistant is unavailable right now. Your tasks still work as usual."

    /// The chat rate limit, said on the page instead of an error page, so the conversation stays open.
    static func slowDown(_ retryAfter: Duration?) -> String {
        let wait = retryAfter.map { "\($0.components.seconds) seconds" } ?? "a minute"
        return "That is more messages than the assistant takes in a minute. Wait \(wait), then send it again."
    }

    func addRoutes(to router: RouterGroup<WebRequestContext>) {
        router.get("chat", use: show)
        router.post("chat", use: send)
    }

    @Sendable func show(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        let user = try await client.me(token: token)
        return views.page("chat", ChatPage(chrome: views.chrome(context, title: "Assistant", user: user, section: "chat"),
                                           messages: [], hasMessages: false, conversationID: "", notice: nil))
    }

    @Sendable func send(_ request: Request, context: WebRequestContext) async throws -> Response {
        let token = try context.requireSession()
        async let user = client.me(token: token)
        let text = context.form.text("message") ?? ""
        var conversationID = context.form.text("conversation_id")
        var messages: [Message] = []
        var notice: String?
        if !text.isEmpty {
            messages.append(Message(text: text, fromUser: true, who: "You"))
            do {
                let reply = try await client.chat(
                    token: token, message: text, conversationID: conversationID,
                    timeZone: PageSupport.timeZone(context.form, context).identifier)
                conversationID = reply.conversationID
                messages.append(Message(text: reply.response, fromUser: false, who: "Assistant"))
            } catch TodoClientError.notFound, TodoClientError.unsupported, TodoClientError.unavailable {
                notice = Self.unavailable
            } catch TodoClientError.rateLimited(let retryAfter) {
                notice = Self.slowDown(retryAfter)
            } catch TodoClientError.conflict(let problem) where problem.code == "quota_exceeded" {
                notice = "The assistant cannot take this message: \(problem.message)."
            }
        }
        let model = ChatPage(chrome: views.chrome(context, title: "Assistant", user: try await user, section: "chat"),
                             messages: messages, hasMessages: !messages.isEmpty, conversationID: conversationID ?? "", notice: notice)
        return views.page("chat", model)
    }
}
