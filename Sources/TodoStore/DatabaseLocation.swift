import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import TodoCore

/// Where the data lives, as given by `DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(URLComponents)

    /// `postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=/path/ca.pem`
    /// (TLS as in libpq: `PostgresTLSPolicy`),
    /// `sqlite:///absolute/path.db`, `sqlite://relative/path.db` or a plain file path.
    public init(url: String) throws {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            guard let components = URLComponents(string: url), components.host?.isEmpty == false else {
                throw ConfigurationError("DATABASE_URL is not a valid postgres:// URL")
            }
            self = .postgres(components)
            _ = try tlsPolicy  // a wrong sslmode stops the start-up, before any connection
        } else if url.hasPrefix("sqlite://") {
            self = .sqlite(path: String(url.dropFirst("sqlite://".count)))
        } else if url.hasPrefix("sqlite:") {
            self = .sqlite(path: String(url.dropFirst("sqlite:".count)))
        } else if url.contains("://") {
            throw ConfigurationError("DATABASE_URL must start with postgres://, postgresql:// or sqlite://")
        } else {
            self = .sqlite(path: url)
        }
        if case .sqlite(let path) = self, path.isEmpty { throw ConfigurationError("DATABASE_URL names no SQLite file") }
    }

    /// The PostgreSQL client configuration, with the pool size and connect timeout applied.
    func postgresConfiguration(poolSize: Int, connectTimeout: Duration) throws -> PostgresClient.Configuration {
        guard case .postgres(let url) = self, let host = url.host else { throw ConfigurationError("not a PostgreSQL URL") }
        let tls = try tlsPolicy.clientTLS()
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432,
            username: url.user.flatMap { $0.removingPercentEncoding } ?? "postgres",
            password: url.password.flatMap { $0.removingPercentEncoding },
            database: url.path.isEmpty ? nil : String(url.path.dropFirst()),
            tls: tls)
        configuration.options.maximumConnections = max(1, poolSize)
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// The URL's `sslmode` and `sslrootcert`, with libpq's meanings (`PostgresTLSPolicy`).
    var tlsPolicy: PostgresTLSPolicy {
        get throws {
            guard case .postgres(let url) = self else { throw ConfigurationError("not a PostgreSQL URL") }
            func parameter(_ name: String) -> String? {
                url.queryItems?.last { $0.name == name }?.value.flatMap { $0.isEmpty ? nil : $0 }
            }
            return try PostgresTLSPolicy(sslmode: parameter("sslmode"), sslrootcert: parameter("sslrootcert"))
        }
    }

    /// A description that is safe to log: no password.
    public var redacted: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let url): "postgres://\(url.user ?? "")@\(url.host ?? ""):\(url.port ?? 5432)\(url.path)"
        }
    }
}

extension DatabaseLocation {
    /// Opens the database. `connectTimeout` bounds both connecting and waiting for a free
    /// connection: past it a request fails (503) instead of hanging while the database is down.
    /// `poolObserver` hears of PostgreSQL's connection leases (SQLite has no pool).
    public func open(
        poolSize: Int, connectTimeout: Duration, poolObserver: (any ConnectionPoolObserver)? = nil, logger: Logger
    ) async throws -> OpenedStorage {
        switch self {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // SQLite's queries run on NIO's thread pool, one thread per core: readers beyond that
            // add no parallelism, only page caches (memory).
            let readers = min(poolSize, max(2, System.coreCount))
            let database = try await SQLiteDatabase.open(path: path, readerCount: readers, logger: logger)
            return OpenedStorage(storage: database.makeStorage(), service: nil, close: { await database.close() })
        case .postgres:
            let database = PostgresDatabase(
                configuration: try postgresConfiguration(poolSize: poolSize, connectTimeout: connectTimeout),
                timeout: connectTimeout, poolObserver: poolObserver, logger: logger)
            return OpenedStorage(storage: database.makeStorage(), service: database.service, close: {})
        }
    }
}
