import NIOSSL
import PostgresNIO
import TodoCore

/// How the connection to PostgreSQL uses TLS: `DATABASE_URL`'s `sslmode` and `sslrootcert`
/// with libpq's meanings, so a URL that works with `psql` means the same here.
///
/// - `disable`: plain text.
/// - `allow`, `prefer` (the default, as in libpq): TLS when the server offers it, else plain
///   text. libpq's `allow` tries plain text first; PostgresNIO cannot, so it acts as `prefer`.
/// - `require`: TLS or no connection; the certificate is not checked, so it stops eavesdroppers
///   but not an impostor.
/// - `verify-ca`: TLS with a certificate that chains to a trusted CA; any host name.
/// - `verify-full`: as `verify-ca`, and the certificate names the host of the URL.
///
/// The trusted CAs are the PEM file `sslrootcert` names, or the system's trust store. libpq
/// reads `~/.postgresql/root.crt` instead; a container has no such file, and a managed database
/// (Neon, RDS, Cloud SQL) presents a certificate from a public CA or a CA file you download.
/// As in libpq, a `sslrootcert` file makes `prefer` and `require` check the chain too, and
/// `sslrootcert=system` asks for `verify-full` (the default then) and refuses weaker modes.
struct PostgresTLSPolicy: Sendable, Equatable {
    enum Encryption: Sendable, Equatable {
        case off, preferred, required
    }

    enum Verification: Sendable, Equatable {
        /// Any certificate is accepted.
        case none
        /// The certificate must chain to a trusted CA.
        case chain
        /// The chain, and the certificate must name the host (or IP address) connected to.
        case chainAndHostName
    }

    enum TrustRoots: Sendable, Equatable {
        case system
        case file(path: String)
    }

    var encryption: Encryption
    var verification: Verification
    var trustRoots: TrustRoots
}

extension PostgresTLSPolicy {
    static let modes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// The policy a URL's query parameters (`sslmode`, `sslrootcert`) ask for.
    init(sslmode: String?, sslrootcert: String?) throws {
        trustRoots = Self.trustRoots(named: sslrootcert)
        let mode = sslmode ?? (sslrootcert == "system" ? "verify-full" : "prefer")
        guard Self.modes.contains(mode) else {
            throw ConfigurationError("DATABASE_URL sslmode '\(mode)' is not one of \(Self.modes.joined(separator: ", "))")
        }
        if sslrootcert == "system" && mode != "verify-full" {
            throw ConfigurationError("DATABASE_URL sslrootcert=system needs sslmode=verify-full (as in libpq), not '\(mode)'")
        }
        encryption = switch mode {
        case "disable": .off
        case "allow", "prefer": .preferred
        default: .required
        }
        verification = switch mode {
        case "verify-full": .chainAndHostName
        case "verify-ca": .chain
        default: sslrootcert != nil && encryption != .off ? .chain : .none
        }
    }

    private static func trustRoots(named sslrootcert: String?) -> TrustRoots {
        guard let sslrootcert, sslrootcert != "system" else { return .system }
        return .file(path: sslrootcert)
    }

    /// PostgresNIO's setting for this policy. A CA file is read now, so a wrong path stops the
    /// start-up with a clear message instead of failing every connection later.
    func clientTLS() throws -> PostgresClient.Configuration.TLS {
        switch encryption {
        case .off: return .disable
        case .preferred: return .prefer(try tlsConfiguration())
        case .required: return .require(try tlsConfiguration())
        }
    }

    private func tlsConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = switch verification {
        case .none: .none
        case .chain: .noHostnameVerification
        case .chainAndHostName: .fullVerification
        }
        if case .file(let path) = trustRoots {
            configuration.trustRoots = .certificates(try Self.certificates(at: path))
        }
        return configuration
    }

    private static func certificates(at path: String) throws -> [NIOSSLCertificate] {
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(path)
            guard !certificates.isEmpty else { throw ConfigurationError("no certificate in it") }
            return certificates
        } catch {
            throw ConfigurationError("DATABASE_URL sslrootcert '\(path)' is not a readable PEM file of CA certificates: \(error)")
        }
    }
}
