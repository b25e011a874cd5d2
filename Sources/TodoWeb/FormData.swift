import Foundation
import Hummingbird

/// The fields of a form (`application/x-www-form-urlencoded` or `multipart/form-data`) or of
/// a query string, in order; a name may repeat.
struct FormData: Sendable {
    struct File: Sendable {
        var filename: String
        var contentType: String
        var data: Data
    }

    private(set) var fields: [(name: String, value: String)] = []
    private(set) var files: [String: File] = [:]

    init() {}

    /// Parses `a=1&b=two+words&c=%2F` (`+` is a space).
    init(urlEncoded text: Substring) {
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            fields.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
        }
    }

    /// Parses a request body by its content type; nil when the type is not a form.
    init?(body: ByteBuffer, contentType: String?) {
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") {
            self.init(urlEncoded: Substring(String(buffer: body)))
        } else if type.hasPrefix("multipart/form-data"), let boundary = Self.parameter("boundary", in: contentType ?? "") {
            self.init()
            parseMultipart(Data(body.readableBytesView), boundary: boundary)
        } else {
            return nil
        }
    }

    subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    func all(_ name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    func file(_ name: String) -> File? { files[name] }

    /// The trimmed value, nil when absent or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    // MARK: multipart/form-data (RFC 7578)

    private mutating func parseMultipart(_ data: Data, boundary: String) {
        let delimiter = Data("--\(boundary)".utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        var position = data.startIndex
        guard let first = data.range(of: delimiter, in: position..<data.endIndex) else { return }
        position = first.upperBound
        while position < data.endIndex {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if data[position...].starts(with: Data("--".utf8)) { break }
            guard data[position...].starts(with: Data("\r\n".utf8)) else { break }
            position += 2
            guard let headersRange = data.range(of: headerEnd, in: position..<data.endIndex),
                  let next = data.range(of: Data("\r\n".utf8) + delimiter, in: headersRange.upperBound..<data.endIndex)
            else { break }
            let headers = String(decoding: data[position..<headersRange.lowerBound], as: UTF8.self)
            let content = data[headersRange.upperBound..<next.lowerBound]
            addPart(headers: headers, content: Data(content))
            position = next.upperBound
        }
    }

    private mutating func addPart(headers: String, content: Data) {
        var disposition = ""
        var type = "application/octet-stream"
        for line in headers.components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            switch parts[0].trimmingCharacters(in: .whitespaces).lowercased() {
            case "content-disposition": disposition = String(parts[1])
            case "content-type": type = parts[1].trimmingCharacters(in: .whitespaces)
            default: break
            }
        }
        guard let name = Self.parameter("name", in: disposition) else { return }
        if let filename = Self.parameter("filename", in: disposition) {
            files[name] = File(filename: filename, contentType: type, data: content)
        } else {
            fields.append((name, String(decoding: content, as: UTF8.self)))
        }
    }

    /// A `key=value` or `key="value"` parameter of a header value.
    static func parameter(_ key: String, in header: String) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == key else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}

/// Reads the body of every form POST and checks its CSRF token (`_csrf`); rejects requests that
/// the browser marks as coming from another site.
struct FormMiddleware: RouterMiddleware {
    typealias Context = WebRequestContext
    static let fieldName = "_csrf"
    let maxBodySize: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        var context = context
        if request.headers[.secFetchSite]?.lowercased() == "cross-site" {
            throw WebError.forbidden("This form was sent from another site.")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodySize)
        } catch {
            throw WebError.tooLarge
        }
        guard let form = FormData(body: body, contentType: request.headers[.contentType]) else {
            throw WebError.badRequest("Expected a form.")
        }
        guard Session.isValid(form[Self.fieldName], expected: context.csrfToken) else {
            throw WebError.forbidden("This form has expired or did not come from this site. Reload the page and try again.")
        }
        context.form = form
        return try await next(request, context)
    }
}
