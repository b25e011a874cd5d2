import Foundation
import Testing
import TodoCore

@testable import TodoSettings

@Suite struct SettingsSourcesTests {
    private func resolve(
        flags: [String] = [], file: String? = nil, dotEnv: String? = nil, environment: [String: String] = [:]
    ) async throws -> [String: ResolvedValue] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configFile: String?
        if let file {
            configFile = directory.appendingPathComponent("config.json").path
            try file.write(toFile: configFile!, atomically: true, encoding: .utf8)
        }
        // A path, not the working directory: that is the process's, and tests run side by side.
        let dotEnvFile = dotEnv.map { _ in directory.appendingPathComponent(".env").path }
        if let dotEnv, let dotEnvFile { try dotEnv.write(toFile: dotEnvFile, atomically: true, encoding: .utf8) }
        return try await SettingsSources.resolve(flags: flags, configFile: configFile, dotEnvFile: dotEnvFile, environment: environment)
    }

    private static func isFromDotEnv(_ value: ResolvedValue?) -> Bool {
        guard case .dotEnv(let path) = value?.source else { return false }
        return path.hasSuffix("/.env")
    }

    @Test func flagsWinOverTheEnvironmentWhichWinsOverTheFileWhichWinsOverDotEnv() async throws {
        let values = try await resolve(
            flags: ["--database-pool-size", "40"],
            file: #"{"database": {"pool": {"size": 30}, "timeout.seconds": 7}, "log.level": "debug", "access.log": false}"#,
            dotEnv: "DATABASE_POOL_SIZE=10\nDATABASE_TIMEOUT_SECONDS=9\nLOG_LEVEL=error\nSIGNUP=closed\n",
            environment: ["DATABASE_POOL_SIZE": "20", "LOG_LEVEL": "warning"])
        #expect(values["DATABASE_POOL_SIZE"] == ResolvedValue(text: "40", source: .flag))
        #expect(values["LOG_LEVEL"] == ResolvedValue(text: "warning", source: .environment))
        #expect(values["DATABASE_TIMEOUT_SECONDS"]?.text == "7")
        // The file's booleans read as numbers (swift-configuration's JSON numbers are one type);
        // every boolean setting takes 0 and 1.
        #expect(values["ACCESS_LOG"]?.text == "0")
        #expect(values["SIGNUP"]?.text == "closed" && Self.isFromDotEnv(values["SIGNUP"]))
        #expect(values["PORT"] == nil)
    }

    @Test func flagsTakeAnEqualsSignAndABareFlagIsTrue() async throws {
        let values = try await resolve(flags: ["--access-log", "--port=8080", "--migrate-on-start"])
        #expect(values["ACCESS_LOG"]?.text == "true")
        #expect(values["PORT"]?.text == "8080")
        #expect(values["MIGRATE_ON_START"]?.text == "true")
    }

    @Test func aListIsCommaSeparatedTextFromAFlagOrAFile() async throws {
        let values = try await resolve(
            flags: ["--trusted-proxies", "10.0.0.0/8,fd00::/8"], file: #"{"mcp": {"allowed": {"origins": ["https://a.example", "https://b.example"]}}}"#)
        #expect(values["TRUSTED_PROXIES"]?.text == "10.0.0.0/8,fd00::/8")
        #expect(values["MCP_ALLOWED_ORIGINS"]?.text == "https://a.example,https://b.example")
    }

    @Test func aMisspeltFlagOrFileKeyStopsTheStart() async throws {
        let flag = await #expect(throws: ConfigurationError.self) { try await resolve(flags: ["--databse-pool-size", "4"]) }
        #expect(flag?.description.contains("unknown setting --databse-pool-size") == true)
        let stray = await #expect(throws: ConfigurationError.self) { try await resolve(flags: ["8080"]) }
        #expect(stray?.description.contains("unexpected argument '8080'") == true)
        let key = await #expect(throws: ConfigurationError.self) { try await resolve(file: #"{"database": {"pol": {"size": 3}}}"#) }
        #expect(key?.description.contains("DATABASE_POL_SIZE") == true)
        await #expect(throws: ConfigurationError.self) { try await resolve(file: "[1, 2]") }
        await #expect(throws: ConfigurationError.self) { try await resolve(file: #"{"port": [1, 2]}"#) }
    }

    @Test func theConfigFileIsNamedByTheEnvironmentOrByDotEnv() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID()).json")
        try #"{"port": 9000}"#.write(to: directory, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let named = try await resolve(environment: ["TODO_CONFIG_FILE": directory.path])
        #expect(named["PORT"] == ResolvedValue(text: "9000", source: .configFile(directory.path)))
        let viaFlag = try await resolve(flags: ["--todo-config-file", directory.path])
        #expect(viaFlag["PORT"]?.text == "9000")
        let viaDotEnv = try await resolve(dotEnv: "TODO_CONFIG_FILE=\(directory.path)\n")
        #expect(viaDotEnv["PORT"]?.text == "9000")
        await #expect(throws: ConfigurationError.self) { try await resolve(environment: ["TODO_CONFIG_FILE": directory.path + ".missing"]) }
    }

    @Test func anEmptyValueIsUnsetAndFallsThrough() async throws {
        let values = try await resolve(dotEnv: "PORT=7000\n", environment: ["PORT": ""])
        #expect(values["PORT"]?.text == "7000" && Self.isFromDotEnv(values["PORT"]))
    }
}
