#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

// What the test targets that start servers share.

/// How many test servers of a test target run at once. Every test starts its own backend (a
/// SQLite database, migrations, an HTTP server); a hundred of them side by side on a small
/// machine starved the package's other tests (PostgreSQL calls with a 5 s deadline failed) and
/// ran no faster than two at a time.
public actor ServerGate {
    public static let shared = ServerGate(limit: 2)

    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) {
        self.limit = limit
    }

    /// Runs `body` once fewer than `limit` others are running.
    public nonisolated func run<Value: Sendable>(_ body: () async throws -> Value) async throws -> Value {
        await enter()
        do {
            let value = try await body()
            await leave()
            return value
        } catch {
            await leave()
            throw error
        }
    }

    private func enter() async {
        if running < limit {
            running += 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
    }

    /// Hands the place to the next waiting test, or frees it.
    private func leave() {
        if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// A local TCP port that refuses every connection: a socket bound to it that never listens.
/// While it exists no other socket can take the port, unlike a port that was bound and closed
/// again, which the next server of a test running alongside may be given.
public final class RefusingPort: Sendable {
    public let url: String
    private let descriptor: Int32

    public init() throws {
        #if canImport(Darwin)
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw RefusingPortError(operation: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw RefusingPortError(operation: "bind")
        }
        self.descriptor = descriptor
        self.url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
    }

    deinit { close(descriptor) }

    /// Runs `body` with the URL of a port that refuses connections for as long as it runs.
    public static func withURL<Value>(_ body: (String) async throws -> Value) async throws -> Value {
        let port = try RefusingPort()
        defer { withExtendedLifetime(port) {} }
        return try await body(port.url)
    }
}

public struct RefusingPortError: Error {
    public var operation: String
}
