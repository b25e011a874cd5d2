import Foundation
import NIOPosix
import TodoServer
#if canImport(Glibc)
import Glibc
#endif

/// Where the server may send requests on a user's behalf: webhook URLs and Web Push endpoints.
/// Such a URL must not reach what only the server can reach (server-side request forgery):
/// loopback, link-local (cloud metadata at 169.254.169.254), private and other special ranges
/// are refused unless the operator lists them (`WEBHOOK_ALLOWED_NETWORKS`,
/// `PUSH_ALLOWED_NETWORKS`). Checked when a URL is stored and again before every delivery, on
/// every address the name resolves to (a name can be made to resolve elsewhere later).
/// Redirects are never followed.
public struct OutboundAddressPolicy: Sendable {
    public var allowed: [IPNetwork]
    /// Plain http only to the allowed ranges (push services are https; a test's is not).
    public var httpsOnly: Bool

    public init(allowed: [IPNetwork] = [], httpsOnly: Bool = false) {
        self.allowed = allowed
        self.httpsOnly = httpsOnly
    }

    /// Ranges no public service lives in (RFC 6890 and its updates).
    static let special: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "64:ff9b::/96", "fc00::/7",
        "fe80::/10", "ff00::/8",
    ].map { IPNetwork($0)! }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case notHTTP
        case notHTTPS
        case unresolvable(String)
        case specialAddress(String)

        public var description: String {
            switch self {
            case .notHTTP: "must be an absolute http or https URL with a host"
            case .notHTTPS: "must be an https URL"
            case .unresolvable(let host): "has a host that does not resolve: \(host)"
            case .specialAddress(let address): "points to \(address), a loopback, link-local or private address the server does not call"
            }
        }
    }

    /// Checks `text` and returns its host, or throws why the server will not call it.
    public func check(_ text: String) async throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.user == nil, url.password == nil
        else { throw Refusal.notHTTP }
        let addresses = try await Self.resolve(host)
        guard !addresses.isEmpty else { throw Refusal.unresolvable(host) }
        for address in addresses where !isAllowed(address) { throw Refusal.specialAddress(address) }
        if httpsOnly && scheme == "http" && !addresses.allSatisfy({ address in allowed.contains { $0.contains(address: address) } }) {
            throw Refusal.notHTTPS
        }
        return host
    }

    func isAllowed(_ address: String) -> Bool {
        allowed.contains { $0.contains(address: address) } || !Self.special.contains { $0.contains(address: address) }
    }

    /// Every address `host` resolves to, as text; a literal address resolves to itself.
    /// getaddrinfo blocks, so it runs on NIO's thread pool.
    static func resolve(_ host: String) async throws -> [String] {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return try await NIOThreadPool.singleton.runIfActive { addresses(of: name) }
    }

    private static func addresses(of name: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var first: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &first) == 0 else { return [] }
        defer { freeaddrinfo(first) }
        var found: [String] = []
        var cursor = first
        while let entry = cursor?.pointee {
            if let address = text(of: entry) { found.append(address) }
            cursor = entry.ai_next
        }
        return found
    }

    private static func text(of entry: addrinfo) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch entry.ai_family {
        case AF_INET:
            guard var address = entry.ai_addr?.withMemoryRebound(to: sockaddr_in.self, capacity: 1, { $0.pointee.sin_addr }) else { return nil }
            guard inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        case AF_INET6:
            guard var address = entry.ai_addr?.withMemoryRebound(to: sockaddr_in6.self, capacity: 1, { $0.pointee.sin6_addr }) else { return nil }
            guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        default:
            return nil
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
