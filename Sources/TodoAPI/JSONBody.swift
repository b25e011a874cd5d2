import Foundation
import Hummingbird
import NIOCore
import TodoCore

/// Reads a request body as JSON within the configured size limit.
struct JSONBody: Sendable {
    var limit: Int

    /// The body as a JSON value, or nil when the body is empty.
    func read(_ request: Request) async throws -> JSONValue? {
        let buffer = try await bytes(request)
        guard buffer.readableBytes > 0 else { return nil }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.invalidJSON("the request body is not valid JSON (UTF-8)")
        }
    }

    /// The body, which must be present.
    func require(_ request: Request) async throws -> JSONValue {
        guard let value = try await read(request) else { throw APIError.invalidJSON("a JSON request body is required") }
        return value
    }

    /// The body as it came, up to the limit.
    func bytes(_ request: Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Self.tooLarge(limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(limit)
        }
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(limit) bytes")
    }
}

extension JSONValue {
    /// The fields of an object body; anything else is a validation error.
    func object() throws -> [String: JSONValue] {
        guard case .object(let object) = self else { throw ValidationError(field: "body", "must be a JSON object") }
        return object
    }
}
