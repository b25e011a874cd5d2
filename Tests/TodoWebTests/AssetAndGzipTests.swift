import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing
@testable import TodoWeb

/// The embedded static files: versioned paths, caching, gzip; and the gzip encoder itself,
/// checked by decompressing its output with the system's `gzip`.
@Suite struct AssetAndGzipTests {
    /// Bytes that do not compress, the same on every run.
    static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    /// `gzip -dc` of `bytes`; nil with the tool's complaint recorded when it refuses them.
    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8]? {
        let tool = try #require(["/usr/bin/gzip", "/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }, "gzip is needed")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("todo-web-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-dc", file.path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record("gzip -d refused the output: \(complaint)")
            return nil
        }
        return [UInt8](data)
    }

    @Test(arguments: [
        ("empty", []),
        ("one byte", [0x41]),
        ("every byte value", (0..<1024).map { UInt8(truncatingIfNeeded: $0 * 7) }),
        ("a long run", [UInt8](repeating: 0x61, count: 100_000)),
        ("noise", AssetAndGzipTests.noise(70_000)),
        ("repeats further apart than the window", AssetAndGzipTests.noise(40_000) + AssetAndGzipTests.noise(40_000)),
        ("text", Array(String(repeating: "body { margin: 0 } .task { color: red }\n", count: 500).utf8)),
    ] as [(String, [UInt8])])
    func gzipOutputDecompressesToTheInput(_ name: String, _ input: [UInt8]) throws {
        let compressed = Gzip.compress(input)
        #expect(try Self.gunzip(compressed) == input, "\(name)")
    }

    @Test func gzipShrinksRepetitiveTextToAFractionAndTheEmbeddedAssetsRoundTrip() throws {
        let text = Array(String(repeating: "body { margin: 0 } .task { color: red }\n", count: 500).utf8)
        #expect(Gzip.compress(text).count * 20 < text.count)
        for (name, bytes) in EmbeddedFiles.assets {
            #expect(try Self.gunzip(Gzip.compress(bytes)) == bytes, "\(name)")
        }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    // MARK: The catalog

    static func request(_ path: String, acceptEncoding: String? = nil, ifNoneMatch: String? = nil) -> Request {
        var head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: path)
        if let acceptEncoding { head.headerFields[.acceptEncoding] = acceptEncoding }
        if let ifNoneMatch { head.headerFields[.ifNoneMatch] = ifNoneMatch }
        return Request(head: head, body: .init(buffer: ByteBuffer()))
    }

    static let catalog = AssetCatalog(files: [
        ("site.css", Array(String(repeating: ".a { color: red }\n", count: 200).utf8)),
        ("noise.js", noise(4096)),
        ("jquery.min.js", Array(String(repeating: "var a = 1;\n", count: 100).utf8)),
    ])

    /// `/static/site.<hash>.css` → `site.<hash>.css`
    static func file(_ name: String) -> String { String(catalog.path(name).dropFirst("/static/".count)) }

    @Test func anAssetPathCarriesTenHexDigitsOfItsContentHashBeforeTheExtension() {
        let path = Self.catalog.path("site.css")
        #expect(path.wholeMatch(of: /\/static\/site\.[0-9a-f]{10}\.css/) != nil)
        #expect(Self.catalog.path("jquery.min.js").wholeMatch(of: /\/static\/jquery\.min\.[0-9a-f]{10}\.js/) != nil)
        #expect(Self.catalog.path("unknown.css") == "/static/unknown.css")
    }

    @Test func aCurrentPathIsCachedForAYearAndAnOldOrMissingHashIsRevalidated() throws {
        let current = try #require(Self.catalog.response(for: Self.file("site.css"), request: Self.request("/")))
        #expect(current.status == .ok)
        #expect(current.headers[.cacheControl] == "public, max-age=31536000, immutable")
        #expect(current.headers[.contentType] == "text/css; charset=utf-8")
        #expect(current.headers[.vary] == "Accept-Encoding")
        for stale in ["site.0000000000.css", "site.css"] {
            let response = try #require(Self.catalog.response(for: stale, request: Self.request("/")))
            #expect(response.headers[.cacheControl] == "no-cache", "\(stale)")
        }
        let dotted = try #require(Self.catalog.response(for: Self.file("jquery.min.js"), request: Self.request("/")))
        #expect(dotted.headers[.cacheControl] == "public, max-age=31536000, immutable")
        #expect(Self.catalog.response(for: "missing.0000000000.css", request: Self.request("/")) == nil)
        #expect(Self.catalog.response(for: "noextension", request: Self.request("/")) == nil)
    }

    @Test func gzipIsServedWhenAcceptedAndItShrinksTheFileByATenth() throws {
        let css = try #require(Self.catalog.response(for: Self.file("site.css"), request: Self.request("/", acceptEncoding: "br, gzip")))
        #expect(css.headers[.contentEncoding] == "gzip")
        let plain = try #require(Self.catalog.response(for: Self.file("site.css"), request: Self.request("/")))
        #expect(plain.headers[.contentEncoding] == nil)
        #expect(css.headers[.eTag] != plain.headers[.eTag])
        let noise = try #require(Self.catalog.response(for: Self.file("noise.js"), request: Self.request("/", acceptEncoding: "gzip")))
        #expect(noise.headers[.contentEncoding] == nil)
    }

    @Test func aMatchingIfNoneMatchGets304WithTheSameValidators() throws {
        let first = try #require(Self.catalog.response(for: Self.file("site.css"), request: Self.request("/", acceptEncoding: "gzip")))
        let etag = try #require(first.headers[.eTag])
        let again = try #require(Self.catalog.response(
            for: Self.file("site.css"), request: Self.request("/", acceptEncoding: "gzip", ifNoneMatch: "\"other\", \(etag)")))
        #expect(again.status == .notModified)
        #expect(again.headers[.eTag] == etag)
        // The plain file's validator does not match the gzipped one.
        let plain = try #require(Self.catalog.response(for: Self.file("site.css"), request: Self.request("/", ifNoneMatch: etag)))
        #expect(plain.status == .ok)
    }

    @Test(arguments: [
        ("gzip", true), ("deflate, gzip", true), ("GZIP;q=0.5", true), ("gzip ; q=1", true),
        ("gzip;q=0", false), ("gzip; q=0", false), ("br", false), ("x-gzip", false), ("", false),
    ])
    func acceptEncodingIsReadWithItsQualityValues(_ header: String, _ accepted: Bool) {
        #expect(AssetCatalog.accepts("gzip", in: header) == accepted)
    }

    /// RFC 9110 12.4.2: `q=0.0` and `q=0.000` are zero too: "not acceptable".
    @Test func aZeroQualityWrittenWithDecimalsRefusesTheCoding() {
        #expect(AssetCatalog.accepts("gzip", in: "gzip;q=0.0") == false)
        #expect(AssetCatalog.accepts("gzip", in: "gzip;q=0.000") == false)
        #expect(AssetCatalog.accepts("gzip", in: "gzip;q=0.001"))
    }

    @Test(arguments: [
        ("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("icon.svg", "image/svg+xml"),
        ("site.webmanifest", "application/manifest+json"), ("logo.png", "image/png"), ("data.bin", "application/octet-stream"),
    ])
    func theContentTypeFollowsTheExtension(_ name: String, _ type: String) {
        #expect(AssetCatalog.contentType(of: name) == type)
    }
}
