import Hummingbird
import TodoCore
import TodoStore

/// Every error the API returns, with its status and stable machine-readable code.
/// The body is always `{"error": {"code", "message", "details"}}`.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [FieldIssue]?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [FieldIssue]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    static func invalidJSON(_ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_json", message: message)
    }

    static func validation(_ error: ValidationError) -> APIError {
        APIError(.unprocessableContent, code: "validation_failed", message: error.summary, details: error.issues)
    }

    static func invalidParameters(_ error: ValidationError) -> APIError {
        APIError(.badRequest, code: "invalid_parameter", message: error.summary, details: error.issues)
    }

    static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, code: "unauthorized", message: message)
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }

    /// 429 with `Retry-After: wait` (seconds).
    static func tooManyRequests(_ wait: Int, code: String, _ message: String) -> APIError {
        var error = APIError(.tooManyRequests, code: code, message: message)
        error.headers[.retryAfter] = String(wait)
        return error
    }

    /// 409 `quota_exceeded`: the user holds as many as a quota allows; `details` names the quota
    /// and its limit. Not 429, since waiting does not help, nor 403, which here means another
    /// user's data: the request conflicts with what the user already has.
    static func quotaExceeded(_ reached: QuotaReached) -> APIError {
        let message = switch reached.quota {
        case .tasks: "an account holds at most \(reached.limit) tasks; delete some first"
        case .personalTokens: "an account holds at most \(reached.limit) personal tokens; revoke one first"
        case .conversations: "you have \(reached.limit) conversations, the most allowed; continue one of them"
        case .messages: "this conversation holds \(reached.limit) of your messages, the most allowed; start a new conversation"
        case .webhooks: "an account holds at most \(reached.limit) webhooks; delete one first"
        case .pushSubscriptions: "an account holds at most \(reached.limit) push subscriptions; turn push off on a device first"
        }
        let scope = reached.quota == .messages ? "per conversation" : "per account"
        return APIError(.conflict, code: "quota_exceeded", message: message,
                        details: [FieldIssue(field: reached.quota.rawValue, message: "at most \(reached.limit) \(scope)")])
    }

    static let forbidden = APIError(.forbidden, code: "forbidden", message: "this resource belongs to another user")
    /// `PASSWORD_LOGIN=false`: log-in, sign-up and resets with a password.
    static let passwordLoginDisabled = APIError(.forbidden, code: "password_login_disabled", message: "this server signs in only through single sign-on")
    static let taskNotFound = APIError(.notFound, code: "not_found", message: "no such task")
    /// A project the caller is not a member of is no project to them.
    static let projectNotFound = APIError(.notFound, code: "not_found", message: "no such project")
    /// A viewer's write.
    static let readOnlyProject = APIError(.forbidden, code: "forbidden", message: "your role in this project does not allow this")
    /// A change of a project's own fields by a member who is not its owner.
    static let notProjectOwner = APIError(.forbidden, code: "forbidden", message: "only the project's owners may do this")
    static let inboxKept = APIError(.conflict, code: "inbox", message: "the Inbox cannot be deleted")
    static let preconditionFailed = APIError(
        .preconditionFailed, code: "precondition_failed", message: "the task was changed since the version in If-Match")
    static let unavailable = APIError(.serviceUnavailable, code: "unavailable", message: "the database is unavailable; try again shortly")
    static let storeConflict = APIError(.conflict, code: "conflict", message: "this collides with something already stored; try again")
    // swift-format-ignore: DontRepeatTypeInStaticProperties
    // "internal error" names the HTTP status and the `internal_error` code, not the type.
    static let internalError = APIError(.internalServerError, code: "internal_error", message: "an unexpected error occurred")
}

/// The JSON body of an error response.
struct ErrorBody: ResponseEncodable {
    struct Content: Encodable {
        var code: String
        var message: String
        var details: [FieldIssue]?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(message, forKey: .message)
            try container.encode(details, forKey: .details)
        }

        enum CodingKeys: String, CodingKey { case code, message, details }
    }

    var error: Content
}
