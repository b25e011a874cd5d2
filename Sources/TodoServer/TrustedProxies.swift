import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The proxies in front of a server (the web UI, an ingress controller, a TLS proxy), as CIDR
/// ranges. A request that comes from one of them names its client in `X-Forwarded-For`; the
/// client is the right-most entry that is not itself a trusted proxy (entries further left were
/// written by whoever sent the request, and can be forged). A trusted proxy's own address is
/// never the client: limits per address must not count everyone behind it as one client.
public struct TrustedProxies: Sendable, Equatable {
    public let networks: [IPNetwork]

    public init(_ networks: [IPNetwork]) {
        self.networks = networks
    }

    /// A comma-separated list of addresses and CIDR ranges, such as `127.0.0.1,10.0.0.0/8,fd00::/8`.
    public init(parsing list: String) throws {
        var networks: [IPNetwork] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let network = IPNetwork(item) else { throw InvalidNetwork(text: item) }
            networks.append(network)
        }
        self.networks = networks
    }

    public struct InvalidNetwork: Error, CustomStringConvertible {
        public var text: String
        public var description: String { "'\(text)' is not an IP address or CIDR range" }
    }

    public func contains(_ address: String) -> Bool {
        guard let bytes = IPNetwork.bytes(of: address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client of a request that arrived from `peer` with `forwardedFor`, or nil when every
    /// hop is a trusted proxy (the request came from a proxy itself).
    public func client(peer: String?, forwardedFor: String?) -> String? {
        guard let peer else { return nil }
        guard contains(peer) else { return peer }
        let hops = (forwardedFor ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !hop.isEmpty {
            guard IPNetwork.bytes(of: hop) != nil else { return hop }  // garbage from the sender: it is the client's word
            if !contains(hop) { return hop }
        }
        return nil
    }
}

/// An IPv4 or IPv6 network: an address and a prefix length (`10.0.0.0/8`); a plain address is
/// a network of one.
public struct IPNetwork: Sendable, Equatable {
    let address: [UInt8]
    let prefixLength: Int

    public init?(_ text: String) {
        // Empty parts kept: "/" and "10.0.0.0/" are errors, not a crash and a network of one.
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = Self.bytes(of: parts[0]) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        self.address = address
    }

    /// Whether `address` (IPv4 or IPv6 text) is in this network.
    public func contains(address: String) -> Bool {
        Self.bytes(of: address).map(contains) ?? false
    }

    func contains(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == address.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address, bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if mine & mask != theirs & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// The address's bytes (4 or 16), or nil when it is not an IP address. An IPv4-mapped IPv6
    /// address (`::ffff:10.0.0.1`) is read as the IPv4 address it maps.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}
