import Foundation
import HTTPTypes
import Hummingbird
import TodoCore
import TodoTracing

/// What `RequestLogMiddleware` records on a request's context.
public protocol RequestLogContext: RequestContext {
    var requestID: String { get set }
    /// The client's IP address: the peer's, or what a trusted proxy says in `X-Forwarded-For`;
    /// nil for a request from a trusted proxy itself (see `TrustedProxies.client`).
    var clientAddress: String? { get set }
}

/// Gives every request an id (the caller's `X-Request-Id` when it is sane, else a new one),
/// returns it in the response, puts it in every log line of the request and in the task's
/// context (so the backend calls made for the request send it on), and writes one access log
/// line per request.
public struct RequestLogMiddleware<Context: RequestLogContext>: RouterMiddleware {
    let accessLog: Bool
    /// Peers whose `X-Forwarded-For` is believed (the web UI, a load balancer): see `TrustedProxies`.
    let trustedProxies: TrustedProxies

    public init(accessLog: Bool, trustedProxies: TrustedProxies = TrustedProxies([])) {
        self.accessLog = accessLog
        self.trustedProxies = trustedProxies
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = RequestID.accepting(request.headers[.xRequestID]) ?? RequestID.make()
        context.requestID = requestID
        context.clientAddress = trustedProxies.client(peer: context.clientAddress, forwardedFor: request.headers[.xForwardedFor])
        context.logger[metadataKey: "request_id"] = .string(requestID)
        context.logger[metadataKey: "hb.request.id"] = nil
        let start = ContinuousClock.now
        // In the task's context too, for the X-Request-Id of the calls made while serving it.
        var response = try await RequestIDPropagation.withRequestID(requestID) { try await next(request, context) }
        response.headers[.xRequestID] = requestID
        if accessLog {
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible((ContinuousClock.now - start).loggedMilliseconds),
            ])
        }
        return response
    }
}

extension HTTPField.Name {
    public static let xRequestID = HTTPField.Name("X-Request-Id")!
    public static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
