import Foundation
import Testing
import TodoCore

@testable import TodoSettings

@Suite struct RoleConfigurationTests {
    private static let secret = String(repeating: "s", count: 40)

    @Test func aValueOutOfRangeNamesTheSettingWhateverTheLayer() async throws {
        let settings = SettingsReader(try await SettingsSources.resolve(flags: ["--database-pool-size", "0"], environment: ["AUTH_SECRET": Self.secret]))
        let error = #expect(throws: ConfigurationError.self) { try APIRoleConfiguration(settings) }
        #expect(error?.description == "DATABASE_POOL_SIZE must be a whole number from 1 to 500, got '0'")
    }

    @Test func theReportHidesSecretsAndSaysWhereEachValueCameFrom() async throws {
        let settings = SettingsReader(
            try await SettingsSources.resolve(
                flags: ["--port", "9000"],
                environment: [
                    "AUTH_SECRET": Self.secret, "DATABASE_URL": "postgres://todo:hunter2@db:5432/todo?sslmode=require&password=hunter3",
                    "LLM_API_KEY": "sk-abcdef",
                ]))
        try Role.api.check(settings)
        let report = ConfigurationReport.text(role: .api, reads: settings.readValues)
        #expect(!report.contains("hunter2") && !report.contains("hunter3") && !report.contains(Self.secret) && !report.contains("sk-abcdef"))
        let lines = report.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.contains(["PORT", "9000", "flag", "--port"]))
        #expect(lines.contains(["DATABASE_URL", "postgres://todo:redacted@db:5432/todo?sslmode=require&password=redacted", "environment"]))
        #expect(lines.contains(["AUTH_SECRET", "(secret,", "40", "characters)", "environment"]))
        #expect(lines.contains(["DATABASE_POOL_SIZE", "10", "default"]))
        #expect(lines.contains(["SMTP_URL", "unset", "default"]))
    }

    @Test func serveNotesItsGeneratedSecret() async throws {
        let settings = SettingsReader(try await SettingsSources.resolve(environment: ["TODO_DATA_DIR": "/srv/todo"]))
        _ = try ServeConfiguration(settings, keepSecret: { path, make in path.hasSuffix("/auth-secret") ? Self.secret : make() })
        #expect(settings.readValues["AUTH_SECRET"] == ResolvedValue(text: Self.secret, source: .generated("/srv/todo/auth-secret")))
        #expect(settings.readValues["VAPID_PRIVATE_KEY"]??.source == .generated("/srv/todo/vapid-private-key"))
    }
}
