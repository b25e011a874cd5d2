import ArgumentParser
import Foundation

/// `todo healthcheck [URL]`: exits 0 when the URL answers 200. Container images have no shell
/// or curl, so Docker's HEALTHCHECK and Kubernetes exec probes run the binary itself.
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 if an http:// URL answers 200 (default: this host's backend /healthz).")

    @Argument(help: "The URL to check, http:// only.")
    var url: String?

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 3

    func run() async throws {
        let port = ProcessInfo.processInfo.environment["PORT"] ?? "8000"
        let target = url ?? "http://127.0.0.1:\(port)/healthz"
        guard let components = URLComponents(string: target), components.scheme == "http", let host = components.host else {
            throw ValidationError("expected an http:// URL, got \(target)")
        }
        let path = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let status = try HTTPProbe.status(host: host, port: components.port ?? 80, path: path, timeoutSeconds: timeout)
        guard status == 200 else {
            print("unhealthy: \(target) answered \(status)")
            throw ExitCode(1)
        }
    }
}

/// A minimal blocking HTTP/1.0 GET that reads only the status line.
enum HTTPProbe {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func status(host: String, port: Int, path: String, timeoutSeconds: Int) throws -> Int {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let address = info else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(info) }
        let socketFD = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard socketFD >= 0 else { throw Failure(description: "cannot open a socket") }
        defer { close(socketFD) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(socketFD, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            throw Failure(description: "cannot connect to \(host):\(port)")
        }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard send(socketFD, request, request.count, 0) == request.count else { throw Failure(description: "cannot send") }
        var buffer = [UInt8](repeating: 0, count: 64)
        let received = recv(socketFD, &buffer, buffer.count, 0)
        guard received >= 12 else { throw Failure(description: "no answer") }
        let statusLine = String(decoding: buffer[0..<received], as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw Failure(description: "not an HTTP answer")
        }
        return status
    }
}
