import Foundation
import Hummingbird
import TodoCore
import TodoServer

/// What the middleware learns about a request and hands on to the handlers.
public protocol AppRequestContext: RequestLogContext {
    /// The authenticated user; set by `AuthMiddleware`.
    var userID: UserID? { get set }
    /// How the user authenticated (a personal API token may not manage tokens).
    var authenticatedWith: Credential? { get set }
    /// The bearer token of the request, passed on when the backend acts for the user (the assistant's tools).
    var bearerToken: String? { get set }
}

public enum Credential: Sendable, Equatable {
    /// The access token of a log-in, in the session it names.
    case session(String)
    case personalToken

    var sessionID: String? {
        if case .session(let id) = self { id } else { nil }
    }
}

/// The request context of the backend.
public struct APIRequestContext: AppRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID = ""
    public var userID: UserID?
    public var authenticatedWith: Credential?
    public var bearerToken: String?
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }

    public var responseEncoder: JSONEncoder { APIJSON.encoder }
}

/// JSON output with a stable key order, so that responses read the same every time.
enum APIJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
