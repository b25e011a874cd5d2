import Foundation
import Testing
import TodoCore
@testable import TodoStore

/// `DATABASE_URL`'s `sslmode` and `sslrootcert` mean what they mean to libpq.
@Suite struct PostgresTLSPolicyTests {
    private func policy(_ query: String) throws -> PostgresTLSPolicy {
        try DatabaseLocation(url: "postgres://todo@db.example:5432/todo\(query)").tlsPolicy
    }

    @Test func withoutSslmodeTLSIsPreferredAndUnverifiedAsInLibpq() throws {
        #expect(try policy("") == PostgresTLSPolicy(encryption: .preferred, verification: .none, trustRoots: .system))
    }

    @Test func eachSslmodeEncryptsAndVerifiesAsInLibpq() throws {
        let expected: [(String, PostgresTLSPolicy.Encryption, PostgresTLSPolicy.Verification)] = [
            ("disable", .off, .none), ("allow", .preferred, .none), ("prefer", .preferred, .none),
            ("require", .required, .none), ("verify-ca", .required, .chain), ("verify-full", .required, .chainAndHostName),
        ]
        for (mode, encryption, verification) in expected {
            let parsed = try policy("?sslmode=\(mode)")
            #expect(parsed.encryption == encryption, "\(mode)")
            #expect(parsed.verification == verification, "\(mode)")
            #expect(parsed.trustRoots == .system, "\(mode)")
        }
    }

    @Test func aRootCertificateFileMakesRequireVerifyTheChain() throws {
        let parsed = try policy("?sslmode=require&sslrootcert=/etc/todo/ca.pem")
        #expect(parsed == PostgresTLSPolicy(encryption: .required, verification: .chain, trustRoots: .file(path: "/etc/todo/ca.pem")))
    }

    @Test func systemRootsDefaultToVerifyFullAndRefuseWeakerModes() throws {
        #expect(try policy("?sslrootcert=system").verification == .chainAndHostName)
        #expect(try policy("?sslmode=verify-full&sslrootcert=system").trustRoots == .system)
        #expect(throws: ConfigurationError.self) { try policy("?sslmode=require&sslrootcert=system") }
    }

    @Test func anUnknownSslmodeIsAConfigurationErrorNamingDatabaseURL() {
        let error = #expect(throws: ConfigurationError.self) { try policy("?sslmode=verify") }
        #expect(error?.description.contains("DATABASE_URL sslmode 'verify'") == true)
    }

    @Test func anUnreadableRootCertificateFileStopsTheStartUp() throws {
        let location = try DatabaseLocation(url: "postgres://todo@db.example/todo?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
        let error = #expect(throws: ConfigurationError.self) {
            try location.postgresConfiguration(poolSize: 1, connectTimeout: .seconds(1))
        }
        #expect(error?.description.contains("sslrootcert '/nonexistent/ca.pem'") == true)
    }
}
