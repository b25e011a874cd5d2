import ArgumentParser
import TodoSettings

/// The settings a command takes on its command line: any setting as a flag (`--port 8080` sets
/// `PORT`), and `--config-file`. Flags win over the environment, which wins over the file.
struct SettingsOptions: ParsableArguments {
    @Option(help: "A JSON file of settings, under the same keys (also TODO_CONFIG_FILE).")
    var configFile: String?

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Any setting of README's table as a flag: --database-pool-size 20 sets DATABASE_POOL_SIZE.", valueName: "--setting value"))
    var settings: [String] = []

    /// The settings from every layer; `./.env` only for commands people run by hand.
    func reader(dotEnv: Bool) async throws -> SettingsReader {
        SettingsReader(
            try await SettingsSources.resolve(flags: settings, configFile: configFile, dotEnvFile: dotEnv ? SettingsSources.dotEnvPath : nil))
    }
}
