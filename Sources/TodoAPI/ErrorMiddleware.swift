import Hummingbird
import PostgresNIO
import SQLiteNIO
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
        case is StoreUnavailable:
            return .unavailable
        case let error as PSQLError:
            // Anything about the connection, or a server shutting down, out of resources or asking
            // for a retry, is an outage (503); any other server-side SQL error is a bug (500).
            guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return .unavailable }
            let transient = ["08", "53", "57", "58"].contains(String(state.prefix(2))) || state == "40001" || state == "40P01"
            return transient ? .unavailable : .internalError
        case let error as SQLiteError where error.reason == .busy || error.reason == .locked:
            return .unavailable
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
