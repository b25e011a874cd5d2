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
import TodoTestSupport

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
