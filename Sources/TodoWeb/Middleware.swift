import Foundation
import HTTPTypes
import Hummingbird
import TodoCore
import Logging
import TodoClient

/// An error that a page handler reports to the user.
enum WebError: Error {
    case badRequest(String)
    case forbidden(String)
    case notFound
    case tooLarge
    /// No session (or an expired one): log in, then come back.
    case signInRequired
}

/// The headers that keep every response on its own origin: a strict Content-Security-Policy
/// (no inline script or style), no sniffing, no framing, no referrer to other sites.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
        "font-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
    ].joined(separator: "; ")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "same-origin"
        response.headers[.permissionsPolicy] = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
        response.headers[.crossOriginOpenerPolicy] = "same-origin"
        response.headers[.crossOriginResourcePolicy] = "same-origin"
        if context.isSecure { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// Turns errors into pages a person can read: the backend being down, an expired session,
/// a page that does not exist. `/api/*` errors are the backend's own (see `ProxyController`).
struct PageErrorMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    let views: Views

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as TodoClientError {
            switch error {
            case .unavailable(let reason):
                context.logger.warning("backend unavailable", metadata: ["error": .string(reason)])
                var response = page(
                    context, status: .serviceUnavailable, heading: "The task service is not answering",
                    message: "Your tasks are safe, but they cannot be shown or changed right now. Try again in a moment.",
                    unavailable: true)
                response.headers[.retryAfter] = "5"
                return response
            case .unauthorized:
                // The session expired or its account is gone.
                return signIn(request, context)
            case .notFound:
                return page(context, status: .notFound, heading: "Not found", message: "There is no such task, or it was deleted.")
            case .rateLimited(let retryAfter):
                var response = refused(context, error, status: .tooManyRequests, message: "Too many requests. Wait a moment, then try again.")
                if let retryAfter { response.headers[.retryAfter] = String(retryAfter.components.seconds) }
                return response
            case .versionConflict:
                return refused(context, error, status: .preconditionFailed, message: "The task was changed somewhere else. Reload it and try again.")
            case .validation(_, let message):
                return refused(context, error, status: .unprocessableContent, message: message)
            case .forbidden(let problem):
                return refused(context, error, status: .forbidden, message: problem.message)
            case .conflict(let problem):
                return refused(context, error, status: .conflict, message: problem.message)
            case .unsupported(let problem):
                return refused(context, error, status: .notImplemented, message: problem.message)
            case .rejected(let status, let problem):
                return refused(context, error, status: HTTPResponse.Status(code: status), message: problem.message)
            case .unexpectedResponse(let reason):
                context.logger.error("unexpected backend answer", metadata: ["error": .string(reason)])
                return page(context, status: .badGateway, heading: "Something went wrong",
                            message: "The task service answered something this page does not understand.", unavailable: true)
            }
        } catch let error as WebError {
            switch error {
            case .badRequest(let message): return page(context, status: .badRequest, heading: "That did not work", message: message)
            case .forbidden(let message): return page(context, status: .forbidden, heading: "Not allowed", message: message)
            case .notFound: return page(context, status: .notFound, heading: "Not found", message: "There is no page at this address.")
            case .tooLarge: return page(context, status: .contentTooLarge, heading: "Too large", message: "That upload is too large.")
            case .signInRequired: return signIn(request, context)
            }
        } catch let error as HTTPError where error.status == .notFound {
            return page(context, status: .notFound, heading: "Not found", message: "There is no page at this address.")
        } catch let error as HTTPResponseError {
            throw error
        } catch {
            context.logger.error("page failed", metadata: ["error": "\(error)"])
            return page(context, status: .internalServerError, heading: "Something went wrong",
                        message: "The error was logged with request id \(context.requestID).")
        }
    }

    /// The backend refused a call for a reason the page did not handle itself.
    func refused(_ context: Context, _ error: TodoClientError, status: HTTPResponse.Status, message: String) -> Response {
        context.logger.warning("backend refused", metadata: ["error": .string(error.description)])
        return page(context, status: status, heading: "That did not work", message: message)
    }

    /// To the log-in page, and back to this page afterwards.
    func signIn(_ request: Request, _ context: Context) -> Response {
        let back = request.method == .get && request.uri.path != "/" ? "?next=" + Self.escape(request.uri.description) : ""
        var response = Response.redirect(to: "/login" + back)
        if context.sessionToken != nil { response.setCookie(Session.expiredCookie(secure: context.isSecure)) }
        return response
    }

    func page(_ context: Context, status: HTTPResponse.Status, heading: String, message: String, unavailable: Bool = false) -> Response {
        let signedIn = context.sessionToken != nil
        let model = MessagePage(
            chrome: views.chrome(context, title: heading), heading: heading, message: message,
            linkText: unavailable ? "Try again" : signedIn ? "Back to your tasks" : "Log in", linkHref: unavailable ? "" : signedIn ? "/" : "/login",
            unavailable: unavailable)
        return views.page("message", model, status: status)
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "/"
    }
}

extension Response {
    /// 303 See Other: after a form POST, the browser GETs the next page.
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let permissionsPolicy = HTTPField.Name("Permissions-Policy")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let crossOriginOpenerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")!
}
