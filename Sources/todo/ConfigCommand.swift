import ArgumentParser
import TodoSettings

/// `todo config`: the effective settings of a role, where each came from, and whether the role
/// would start with them (the same checks, the same messages).
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the settings a role would run with, secrets hidden, and where each came from; exit 1 on a setting that cannot work.",
        discussion: "Takes the role's flags and --config-file, and reads ./.env for serve and migrate, as they do.")

    // An option, not an argument: a positional role would swallow the value of a setting flag.
    @Option(help: "The role: serve, api, web, mcp or migrate.")
    var role: Role = .serve

    @Flag(help: "Print README's table of every setting (Markdown) instead.")
    var table = false

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        if table { return print(SettingsCatalog.markdownTable) }
        let settings = try await options.reader(dotEnv: role == .serve || role == .migrate)
        try role.check(settings)
        print(ConfigurationReport.text(role: role, reads: settings.readValues))
    }
}

extension Role: ExpressibleByArgument {}
