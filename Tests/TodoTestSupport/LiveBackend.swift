import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import TodoAPI
import TodoClient
import TodoServer
import TodoStore

/// The real backend on a fresh SQLite database, served on a real socket, and a `TodoClient`
/// that speaks HTTP to it: the same pieces the web UI and the MCP server use in the cluster.
public struct LiveBackend: Sendable {
    public let baseURL: String
    public let client: TodoClient
    public let readiness: Readiness
    /// What the backend logged (its access log when `accessLog` is on).
    public let log: LogRecorder
    /// The backend's database, for what only an operator does (invitations, admins).
    public let storage: Storage

    public static let secret = "test-secret-that-is-long-enough-0123456789"
    public static let password = "correct horse battery"

    /// Runs `body` against a new backend, at most two at once (`ServerGate`). `configure` may
    /// change settings first.
    public static func run(
        configure: (inout APIConfiguration) -> Void = { _ in },
        _ body: @Sendable (LiveBackend) async throws -> Void
    ) async throws {
        try await ServerGate.shared.run { try await serve(configure: configure, body) }
    }

    /// `run` without the gate, for a caller that holds a place in it already.
    public static func serve(
        configure: (inout APIConfiguration) -> Void = { _ in }, _ body: @Sendable (LiveBackend) async throws -> Void
    ) async throws {
        var configuration = APIConfiguration(authSecret: secret)
        configuration.passwordHashCost = 4
        configuration.accessLog = false
        // No test here waits for reminders or live events: the scheduler and the event poller
        // stay idle rather than wake several times a second.
        configuration.reminderInterval = .seconds(60)
        configuration.eventPollInterval = .seconds(60)
        configure(&configuration)
        let log = LogRecorder()
        let logger = log.logger(label: "backend")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("todo-live-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let opened = try await DatabaseLocation(url: "sqlite://\(directory.path)/todo.db")
            .open(poolSize: 2, connectTimeout: .seconds(5), logger: logger)
        let readiness = Readiness(startedUp: false)
        do {
            try await opened.storage.schema.migrate(logger: logger)
            readiness.markStartedUp()
            let app = await buildApplication(configuration, storage: opened.storage, readiness: readiness, logger: logger)
            try await app.test(.live) { server in
                guard let port = server.port else { throw NoPort() }
                let baseURL = "http://localhost:\(port)"
                try await body(LiveBackend(baseURL: baseURL, client: TodoClient(baseURL: baseURL), readiness: readiness, log: log,
                                           storage: opened.storage))
            }
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
    }

    struct NoPort: Error {}

    /// A new account: its e-mail and a log-in session.
    public func signUp(_ email: String = LiveBackend.newEmail()) async throws -> (email: String, token: String) {
        (email, try await client.signUp(email: email, password: Self.password, name: nil).token)
    }

    public static func newEmail() -> String {
        "user-\(UUID().uuidString.prefix(8).lowercased())@example.com"
    }
}

/// Keeps the log records of one backend, for tests that look at what it saw.
public final class LogRecorder: Sendable {
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: Logger.Metadata
    }

    private let records = Mutex<[Record]>([])

    public init() {}

    public var all: [Record] { records.withLock { $0 } }

    func append(_ record: Record) {
        records.withLock { $0.append(record) }
    }

    public func logger(label: String) -> Logger {
        Logger(label: label) { _ in Handler(recorder: self) }
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.append(Record(
                level: event.level, message: event.message.description,
                metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
        }
    }
}

/// The error a call threw, for `#expect(... == ...)` on the named cases; nil when it threw none
/// or another kind.
public func clientError<Value>(_ call: () async throws -> Value) async -> TodoClientError? {
    do {
        _ = try await call()
        return nil
    } catch {
        return error as? TodoClientError
    }
}

extension TodoClientError {
    /// The fields of a `.validation` error, in the order the backend named them.
    public var fields: [String]? {
        if case .validation(let issues, _) = self { return issues.map(\.field) }
        return nil
    }

    /// The API's code for the errors that carry one.
    public var code: String? {
        switch self {
        case .unauthorized(let problem), .forbidden(let problem), .unsupported(let problem), .conflict(let problem),
             .rejected(_, let problem):
            problem.code
        default: nil
        }
    }
}
