import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TodoAPI
import TodoServer
import TodoStore

let testSecret = "test-secret-that-is-long-enough-0123456789"

/// The databases a route test may run on. PostgreSQL needs `TEST_DATABASE_URL` (the test
/// command starts a server and sets it); `TODO_REQUIRE_POSTGRES=1` makes its absence a failure.
enum TestDatabase: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] }

    static var available: [TestDatabase] {
        postgresURL != nil || ProcessInfo.processInfo.environment["TODO_REQUIRE_POSTGRES"] == "1" ? allCases : [.sqlite]
    }

    /// A new, empty database on the server of `TEST_DATABASE_URL`, dropped after `body`: the
    /// backend's own services (reminders, webhook deliveries) then claim nothing of the tests
    /// that share the server's database.
    static func withFreshPostgres<Value>(_ body: (String) async throws -> Value) async throws -> Value {
        guard let server = postgresURL else { throw MissingPostgres() }
        let name = "api_" + UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(16)
        let parts = server.split(separator: "?", maxSplits: 1).map(String.init)
        let address = parts[0], query = parts.count > 1 ? "?" + parts[1] : ""
        try await psql(address, "CREATE DATABASE \(name)")
        let base = address[..<(address.lastIndex(of: "/") ?? address.endIndex)]
        let value: Value
        do {
            value = try await body("\(base)/\(name)\(query)")
        } catch {
            try? await psql(address, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try? await psql(address, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        return value
    }

    /// Runs `psql` and awaits its exit without holding a thread: `waitUntilExit` would block one
    /// of the few threads every test shares, and starve the tests that measure time.
    private static func psql(_ url: String, _ command: String) async throws {
        let bin = ProcessInfo.processInfo.environment["TEST_POSTGRES_BIN"].map { "\($0)/psql" } ?? "/usr/bin/psql"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = [url, "-qc", command]
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { ended in
                if ended.terminationStatus == 0 { continuation.resume() } else { continuation.resume(throwing: MissingPostgres()) }
            }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
    }
}

struct MissingPostgres: Error, CustomStringConvertible {
    var description: String { "TODO_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set" }
}

/// A backend on a fresh SQLite database (or a new database on the PostgreSQL server of
/// `TEST_DATABASE_URL`), driven in-process through the router.
struct APIHarness {
    let client: any TestClientProtocol
    let storage: Storage
    let readiness: Readiness

    /// Runs `body` against a new backend. `configure` may change settings first; `.live` serves
    /// on a real socket of localhost (the client's address is then the peer's, as in production).
    static func run(
        on database: TestDatabase = .sqlite,
        configure: (inout APIConfiguration) -> Void = { _ in },
        migrated: Bool = true,
        testing: TestingSetup = .router,
        _ body: @escaping @Sendable (APIHarness) async throws -> Void
    ) async throws {
        var configuration = APIConfiguration(authSecret: testSecret)
        configuration.passwordHashCost = 4
        configuration.accessLog = false
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("todo-api-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        if database == .postgres {
            try await TestDatabase.withFreshPostgres { url in
                try await run(url: url, database: database, configuration: configuration, logger: logger, migrated: migrated, testing: testing, body)
            }
        } else {
            try await run(url: "sqlite://\(directory.path)/todo.db", database: database, configuration: configuration, logger: logger,
                          migrated: migrated, testing: testing, body)
        }
    }

    private static func run(
        url: String, database: TestDatabase, configuration: APIConfiguration, logger: Logger, migrated: Bool, testing: TestingSetup,
        _ body: @escaping @Sendable (APIHarness) async throws -> Void
    ) async throws {
        // PostgreSQL's pool is shared out between the event loops, and the event listener holds
        // one connection for good: room for both.
        let opened = try await DatabaseLocation(url: url).open(poolSize: database == .postgres ? 8 : 2, connectTimeout: .seconds(30), logger: logger)
        let pool = Task { try await opened.service?.run() }
        let readiness = Readiness(startedUp: false)
        if migrated {
            try await opened.storage.schema.migrate(logger: logger)
            readiness.markStartedUp()
        }
        let app = await buildApplication(configuration, storage: opened.storage, readiness: readiness, logger: logger)
        do {
            try await app.test(testing) { client in
                try await body(APIHarness(client: client, storage: opened.storage, readiness: readiness))
            }
        } catch {
            pool.cancel()
            await opened.close()
            throw error
        }
        pool.cancel()
        await opened.close()
    }

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer

        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
        var errorFields: [String] {
            ((object["error"] as? [String: Any])?["details"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
        }
        var text: String { String(buffer: body) }
    }

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil, headers: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            Reply(status: $0.status, headers: $0.headers, body: $0.body)
        }
    }

    /// Signs up a new account and returns its token and id.
    func signUp(_ email: String = "user-\(UUID().uuidString.prefix(8))@example.com", password: String = "correct horse") async throws
        -> (token: String, userID: String)
    {
        let reply = try await request(.post, "/api/auth/signup", body: #"{"email": "\#(email)", "password": "\#(password)"}"#)
        #expect(reply.status == .created)
        let token = try #require(reply.object["token"] as? String)
        let userID = try #require((reply.object["user"] as? [String: Any])?["id"] as? String)
        return (token, userID)
    }

    /// A new log-in (a new session) of an account made by `signUp`.
    func logIn(_ email: String, password: String = "correct horse", headers: HTTPFields = [:]) async throws -> String {
        let reply = try await request(.post, "/api/auth/login", body: #"{"email": "\#(email)", "password": "\#(password)"}"#, headers: headers)
        #expect(reply.status == .ok, "\(reply.text)")
        return try #require(reply.object["token"] as? String)
    }

    /// Creates a task and returns its JSON.
    func createTask(_ token: String, _ body: String) async throws -> [String: Any] {
        let reply = try await request(.post, "/api/me/tasks", token: token, body: body)
        #expect(reply.status == .created, "\(reply.text)")
        return reply.object
    }
}
