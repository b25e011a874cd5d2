import Testing
import TodoServer

/// How the backend tells a request's client from the proxies in front of it (`TRUSTED_PROXIES`).
@Suite struct TrustedProxiesTests {
    func proxies(_ list: String) throws -> TrustedProxies { try TrustedProxies(parsing: list) }

    @Test func ipv4RangesContainExactlyTheirAddresses() throws {
        let trusted = try proxies("10.0.0.0/8, 172.16.0.0/12,192.168.1.128/25")
        for inside in ["10.0.0.0", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.128", "192.168.1.255"] {
            #expect(trusted.contains(inside), "\(inside)")
        }
        for outside in ["11.0.0.0", "9.255.255.255", "172.32.0.0", "172.15.255.255", "192.168.1.127", "192.168.2.200", "::1"] {
            #expect(!trusted.contains(outside), "\(outside)")
        }
    }

    @Test func ipv6RangesContainExactlyTheirAddresses() throws {
        let trusted = try proxies("fd00::/8,2001:db8:abcd::/48")
        for inside in ["fd00::1", "fdff:ffff::1", "2001:db8:abcd::", "2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:DB8:ABCD::7"] {
            #expect(trusted.contains(inside), "\(inside)")
        }
        for outside in ["fc00::1", "fe80::1", "2001:db8:abce::", "2001:db8::1", "::1", "10.0.0.1"] {
            #expect(!trusted.contains(outside), "\(outside)")
        }
    }

    @Test func aPlainAddressIsANetworkOfOne() throws {
        let trusted = try proxies("127.0.0.1,::1")
        #expect(trusted.contains("127.0.0.1"))
        #expect(trusted.contains("::1"))
        #expect(trusted.contains("0:0:0:0:0:0:0:1"))
        for outside in ["127.0.0.2", "127.0.0.0", "::2", "::"] { #expect(!trusted.contains(outside), "\(outside)") }
    }

    @Test func zeroPrefixesContainTheirWholeFamily() throws {
        let everyV4 = try proxies("0.0.0.0/0")
        #expect(everyV4.contains("1.2.3.4") && everyV4.contains("255.255.255.255"))
        #expect(!everyV4.contains("2001:db8::1"))
        let everyV6 = try proxies("::/0")
        #expect(everyV6.contains("2001:db8::1"))
    }

    /// A dual-stack socket reports an IPv4 peer as `::ffff:a.b.c.d`: it is that IPv4 address.
    @Test func ipv4MappedIPv6AddressesAreTheirIPv4Address() throws {
        let trusted = try proxies("10.0.0.0/8,127.0.0.1")
        #expect(trusted.contains("::ffff:10.1.2.3"))
        #expect(trusted.contains("::ffff:127.0.0.1"))
        #expect(!trusted.contains("::ffff:11.1.2.3"))
        #expect(try proxies("::ffff:192.0.2.5").contains("192.0.2.5"))
        #expect(trusted.client(peer: "::ffff:10.0.0.2", forwardedFor: "::ffff:203.0.113.7") == "::ffff:203.0.113.7")
    }

    @Test(arguments: [
        "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/", "/", "/8", "10.0.0/8", "10.0.0.256", "banana",
        "10.0.0.0/8/8", "10.0.0.0/ 8", "fe80::1%eth0", "127.0.0.1 ::1",
    ])
    func malformedEntriesAreRefusedByName(_ entry: String) {
        #expect(IPNetwork(entry) == nil, "\(entry)")
        do {
            _ = try TrustedProxies(parsing: "127.0.0.1, \(entry)")
            Issue.record("'\(entry)' was accepted")
        } catch {
            #expect("\(error)".contains("'\(entry)'"), "\(error)")
        }
    }

    @Test func blankEntriesAndSpacesAreIgnored() throws {
        #expect(try proxies(" 10.0.0.0/8 , ,::1,").networks == [IPNetwork("10.0.0.0/8")!, IPNetwork("::1")!])
        #expect(try proxies("").networks.isEmpty)
        #expect(try proxies(" , ").networks.isEmpty)
    }

    // The client of a request

    let proxy = try! TrustedProxies(parsing: "10.0.0.0/8,fd00::/8")

    @Test func theClientIsTheRightMostForwardedAddressThatIsNotATrustedProxy() {
        // client -> ingress (10.0.0.9) -> web UI (10.0.0.5) -> backend
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "203.0.113.7, 10.0.0.9") == "203.0.113.7")
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "203.0.113.7,10.0.0.9,fd00::3") == "203.0.113.7")
        #expect(proxy.client(peer: "fd00::5", forwardedFor: "2001:db8::7") == "2001:db8::7")
    }

    /// Entries left of the client's were written by the client (or whatever it passed through
    /// before the first trusted proxy): they can say anything, and count for nothing.
    @Test func forgedEntriesLeftOfTheClientAreIgnored() {
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "198.51.100.1, 203.0.113.7, 10.0.0.9") == "203.0.113.7")
        // Naming a trusted proxy does not help either: the client's own address stands right of it.
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "10.0.0.77, 203.0.113.7") == "203.0.113.7")
        // Two header fields read as one list (HTTP joins them with a comma).
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "198.51.100.1, 203.0.113.7") == "203.0.113.7")
    }

    /// A request from a trusted proxy itself (a health check, the web UI's own call, or a chain
    /// of proxies only) has no client to throttle: nil, never the proxy's address.
    @Test func aRequestThroughTrustedProxiesOnlyHasNoClient() {
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: nil) == nil)
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "") == nil)
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: " , ") == nil)
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "10.0.0.9, fd00::2") == nil)
        #expect(proxy.client(peer: nil, forwardedFor: "203.0.113.7") == nil)
    }

    @Test func anUntrustedPeerIsTheClientWhateverItForwards() {
        #expect(proxy.client(peer: "203.0.113.9", forwardedFor: nil) == "203.0.113.9")
        #expect(proxy.client(peer: "203.0.113.9", forwardedFor: "198.51.100.1") == "203.0.113.9")
        #expect(proxy.client(peer: "203.0.113.9", forwardedFor: "10.0.0.5") == "203.0.113.9")
        #expect(TrustedProxies([]).client(peer: "127.0.0.1", forwardedFor: "198.51.100.1") == "127.0.0.1")
    }

    /// An entry that is not an address, with only trusted proxies right of it, is what the
    /// client said: it ends the search rather than letting an address further left through.
    @Test func anEntryThatIsNotAnAddressStopsTheSearch() {
        #expect(proxy.client(peer: "10.0.0.5", forwardedFor: "198.51.100.1, unknown, 10.0.0.9") == "unknown")
    }
}
