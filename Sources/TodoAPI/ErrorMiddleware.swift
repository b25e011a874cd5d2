import Hummingbird
import TodoCore
import TodoStore

/// Turns every thrown error into the one JSON error shape. Unknown errors become a 500
/// whose details stay in the log (with the request id), never in the response.
struct ErrorMiddleware<Context: AppRequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            return try Self.response(for: apiError, request: request, context: context)
        }
    }

    static func response(for error: APIError, request: Request, context: Context) throws -> Response {
        let body = ErrorBody(error: .init(code: error.code, message: error.message, details: error.details))
        var response = try context.responseEncoder.encode(body, from: request, context: context)
        response.status = error.status
        response.headers.append(contentsOf: error.headers)
        return response
    }

    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as ValidationError:
            return .validation(error)
        case let error as QuotaReached:
            return .quotaExceeded(error)
        case let error as StoreError:
            switch error.kind {
            case .unavailable, .busy: return .unavailable
            case .conflict: return .storeConflict
            case .invalid: return .internalError
            }
        case let error as HTTPError:
            return apiError(forStatus: error.status, message: error.body)
        case let error as any HTTPResponseError:
            return apiError(forStatus: error.status, message: nil)
        default:
            return .internalError
        }
    }

    static func apiError(forStatus status: HTTPResponse.Status, message: String?) -> APIError {
        switch status {
        case .notFound: APIError(status, code: "not_found", message: "no such route")
        case .methodNotAllowed: APIError(status, code: "method_not_allowed", message: "method not allowed on this route")
        case .contentTooLarge: APIError(status, code: "payload_too_large", message: "the request body is larger than the limit")
        case .badRequest: APIError(status, code: "bad_request", message: message ?? "malformed request")
        default: APIError(status, code: status.code >= 500 ? "internal_error" : "error",
                          message: status.code >= 500 ? "an unexpected error occurred" : (message ?? status.reasonPhrase))
        }
    }
}
