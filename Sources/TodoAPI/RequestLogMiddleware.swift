import Foundation
import HTTPTypes
import Hummingbird

/// Gives every request an id (the caller's `X-Request-Id` when it is sane, else a new one),
/// returns it in the response, puts it in every log line of the request, and writes one access
/// log line per request.
struct RequestLogMiddleware<Context: AppRequestContext>: RouterMiddleware {
    let accessLog: Bool
    /// Peers whose `X-Forwarded-For` is believed (the web UI's address, a load balancer's).
    let trustedProxies: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = Self.acceptableID(request.headers[.xRequestID]) ?? Self.newID()
        context.requestID = requestID
        if let peer = context.clientAddress, trustedProxies.contains(peer),
           let forwarded = request.headers[.xForwardedFor]?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
           !forwarded.isEmpty {
            context.clientAddress = forwarded
        }
        context.logger[metadataKey: "request_id"] = .string(requestID)
        context.logger[metadataKey: "hb.request.id"] = nil
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.xRequestID] = requestID
        if accessLog {
            let elapsed = ContinuousClock.now - start
            let microseconds = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            let hundredths = microseconds / 10 % 100
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .string("\(microseconds / 1000).\(hundredths < 10 ? "0" : "")\(hundredths)"),
            ])
        }
        return response
    }

    static func acceptableID(_ value: String?) -> String? {
        guard let value, (1...64).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                  || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                  || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else { return nil }
        return value
    }

    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next(), radix: 16, uppercase: false).leftPadded(to: 16)
            + String(generator.next(), radix: 16, uppercase: false).leftPadded(to: 16)
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
