import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The static files, embedded in the binary. Each is served under a path that carries a hash of
/// its content (`/static/app.1a2b3c4d5e.css`), so browsers may cache it for a year; a new build
/// gets new paths. Text assets are gzipped once, at start-up, when that makes them smaller.
struct AssetCatalog: Sendable {
    struct Asset: Sendable {
        var name: String
        var contentType: String
        var hash: String
        var body: ByteBuffer
        var gzipped: ByteBuffer?

        var path: String {
            let dot = name.lastIndex(of: ".") ?? name.endIndex
            return "/static/\(name[..<dot]).\(hash)\(name[dot...])"
        }
    }

    private let assets: [String: Asset]

    init(files: [(name: String, bytes: [UInt8])]) {
        var assets: [String: Asset] = [:]
        for (name, bytes) in files {
            let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            let type = Self.contentType(of: name)
            var gzipped: ByteBuffer?
            if type.hasPrefix("text/") || type.contains("javascript") || type.contains("svg") || type.contains("json") {
                let compressed = Gzip.compress(bytes)
                // Only where it pays: at least a tenth smaller.
                if compressed.count * 10 < bytes.count * 9 { gzipped = ByteBuffer(bytes: compressed) }
            }
            assets[name] = Asset(name: name, contentType: type, hash: String(digest.prefix(10)), body: ByteBuffer(bytes: bytes), gzipped: gzipped)
        }
        self.assets = assets
    }

    /// The versioned path of an asset, for templates.
    func path(_ name: String) -> String {
        assets[name]?.path ?? "/static/\(name)"
    }

    /// `GET /static/{stem}.{hash}.{ext}`: the asset, cached for a year when the hash is current.
    /// An old hash (a page from the previous release) still gets today's file, revalidated.
    func response(for file: String, request: Request) -> Response? {
        let parts = file.split(separator: ".")
        guard parts.count >= 2 else { return nil }
        let hash = parts.count >= 3 ? String(parts[parts.count - 2]) : ""
        let name = parts.count >= 3 ? (parts.dropLast(2) + [parts.last!]).joined(separator: ".") : file
        guard let asset = assets[name] else { return nil }
        let current = hash == asset.hash
        let acceptsGzip = request.headers[.acceptEncoding].map { Self.accepts("gzip", in: $0) } ?? false
        let body = acceptsGzip ? asset.gzipped ?? asset.body : asset.body
        let etag = "\"\(asset.hash)\(acceptsGzip && asset.gzipped != nil ? "-gz" : "")\""
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .cacheControl: current ? "public, max-age=31536000, immutable" : "no-cache",
            .eTag: etag,
            .vary: "Accept-Encoding",
        ]
        if acceptsGzip, asset.gzipped != nil { headers[.contentEncoding] = "gzip" }
        if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) == true {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    static func accepts(_ coding: String, in header: String) -> Bool {
        header.split(separator: ",").contains { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == coding else { return false }
            // A quality of zero (`q=0`, `q=0.0`, `q=0.000`) means "not acceptable" (RFC 9110 12.4.2).
            return !parts.dropFirst().contains { parameter in
                let compact = parameter.replacingOccurrences(of: " ", with: "")
                return compact.hasPrefix("q=") && Double(compact.dropFirst(2)) == 0
            }
        }
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last ?? "" {
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "json", "webmanifest": "application/manifest+json"
        case "png": "image/png"
        default: "application/octet-stream"
        }
    }
}
