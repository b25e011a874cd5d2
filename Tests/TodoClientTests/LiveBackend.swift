#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TodoAPI
import TodoClient
import TodoCore
import TodoServer
import TodoStore

/// The real backend on a fresh SQLite database, served on a real socket, and a `TodoClient`
/// that speaks HTTP to it: the same pieces the web UI and the MCP server use in the cluster.
///
/// At most two run at once: see `ServerGate`.
struct LiveBackend: Sendable {
    let baseURL: String
    let client: TodoClient
    let readiness: Readiness

    static let secret = "test-secret-that-is-long-enough-0123456789"
    static let password = "correct horse battery"

    /// Runs `body` against a new backend. `configure` may change settings first.
    static func run(
        configure: (inout APIConfiguration) -> Void = { _ in },
        _ body: @Sendable (LiveBackend) async throws -> Void
    ) async throws {
        try await ServerGate.shared.run { try await serve(configure: configure, body) }
    }

    private static func serve(
        configure: (inout APIConfiguration) -> Void, _ body: @Sendable (LiveBackend) async throws -> Void
    ) async throws {
        var configuration = APIConfiguration(authSecret: secret)
        configuration.passwordHashCost = 4
        configuration.accessLog = false
        // No test here waits for reminders or live events: the scheduler and the event poller
        // stay idle rather than wake several times a second.
        configuration.reminderInterval = .seconds(60)
        configuration.eventPollInterval = .seconds(60)
        configure(&configuration)
        var logger = Logger(label: "todo-client-tests")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("todo-client-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let opened = try await DatabaseLocation(url: "sqlite://\(directory.path)/todo.db")
            .open(poolSize: 2, connectTimeout: .seconds(5), logger: logger)
        let readiness = Readiness(startedUp: false)
        do {
            try await opened.storage.schema.migrate(logger: logger)
            readiness.markStartedUp()
            let app = await buildApplication(configuration, storage: opened.storage, readiness: readiness, logger: logger)
            try await app.test(.live) { server in
                let port = try #require(server.port)
                let baseURL = "http://localhost:\(port)"
                try await body(LiveBackend(baseURL: baseURL, client: TodoClient(baseURL: baseURL), readiness: readiness))
            }
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    /// A new account: its e-mail and a log-in session.
    func signUp(_ email: String = LiveBackend.newEmail()) async throws -> (email: String, token: String) {
        (email, try await client.signUp(email: email, password: Self.password, name: nil).token)
    }

    static func newEmail() -> String {
        "user-\(UUID().uuidString.prefix(8).lowercased())@example.com"
    }
}

/// How many test servers of this target run at once. Every test starts its own backend (a
/// SQLite database, migrations, an HTTP server); a hundred of them side by side on a small
/// machine starved the package's other tests (PostgreSQL calls with a 5 s deadline failed) and
/// ran no faster than two at a time.
actor ServerGate {
    static let shared = ServerGate(limit: 2)

    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = limit
    }

    /// Runs `body` once fewer than `limit` others are running.
    nonisolated func run<Value: Sendable>(_ body: () async throws -> Value) async throws -> Value {
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
final class RefusingPort: Sendable {
    let url: String
    private let descriptor: Int32

    init() throws {
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
    static func withURL<Value>(_ body: (String) async throws -> Value) async throws -> Value {
        let port = try RefusingPort()
        defer { withExtendedLifetime(port) {} }
        return try await body(port.url)
    }
}

struct RefusingPortError: Error {
    var operation: String
}

/// The error a call threw, for `#expect(... == ...)` on the named cases.
func clientError<Value>(_ call: () async throws -> Value) async -> TodoClientError? {
    do {
        _ = try await call()
        return nil
    } catch let error as TodoClientError {
        return error
    } catch {
        Issue.record("not a TodoClientError: \(error)")
        return nil
    }
}

extension TodoClientError {
    /// The fields of a `.validation` error, in the order the backend named them.
    var fields: [String]? {
        if case .validation(let issues, _) = self { return issues.map(\.field) }
        return nil
    }

    /// The API's code for the errors that carry one.
    var code: String? {
        switch self {
        case .unauthorized(let problem), .forbidden(let problem), .unsupported(let problem), .conflict(let problem),
             .rejected(_, let problem):
            problem.code
        default: nil
        }
    }
}

extension Timestamp {
    /// Whole seconds from now, so that what goes in comes back unchanged.
    static func inSeconds(_ seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: (Timestamp.now().millisecondsSinceEpoch / 1000 + seconds) * 1000)
    }
}
