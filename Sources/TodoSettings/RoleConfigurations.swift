import TodoAPI
import TodoMCP
import TodoWeb

/// The roles `todo` runs, each with the settings it reads. `todo config` builds the same
/// configurations as the roles, so it stops on the same mistakes with the same messages.
public enum Role: String, CaseIterable, Sendable {
    case serve, api, web, mcp, migrate

    /// Builds the role's configuration from `settings` and throws what would stop its start;
    /// `todo serve`'s secret is not generated.
    public func check(_ settings: SettingsReader) throws {
        switch self {
        case .serve: _ = try ServeConfiguration(settings, makeSecret: { _ in String(repeating: "0", count: 64) })
        case .api: _ = try APIRoleConfiguration(settings)
        case .web: _ = try WebRoleConfiguration(settings)
        case .mcp: _ = try MCPRoleConfiguration(settings)
        case .migrate: _ = try MigrateConfiguration(settings)
        }
    }
}

/// `todo serve`: every role in one process on one machine, whose addresses are its public URLs
/// unless set.
public struct ServeConfiguration {
    public var common: CommonSettings
    public var api: APIConfiguration
    public var database: DatabaseSettings
    public var mcp: MCPConfiguration
    public var web: WebConfiguration

    /// `makeSecret` gives the access-token key when `AUTH_SECRET` is unset, from the data directory.
    public init(_ settings: SettingsReader, makeSecret: @escaping (String) throws -> String = persistentSecret(in:)) throws {
        common = try CommonSettings(settings, defaultLogFormat: .text)
        let directory = common.dataDirectory
        api = try APIConfiguration(
            settings, defaultHost: "127.0.0.1",
            generatedSecret: {
                let secret = try makeSecret(directory)
                settings.noteDefault("AUTH_SECRET", secret, source: .generated(directory + "/auth-secret"))
                return secret
            })
        api.firstAccountIsAdmin = true
        database = try DatabaseSettings(settings, dataDirectory: common.dataDirectory)
        let backendURL = "http://127.0.0.1:\(api.port)"
        mcp = try MCPConfiguration(settings, defaultHost: api.host, backendURL: backendURL)
        mcp.port = try settings.integer("MCP_PORT", default: 8001, range: 0...65535)
        api.assistant.mcpURL = settings.string("MCP_URL", default: "http://127.0.0.1:\(mcp.port)/mcp")
        web = try WebConfiguration(settings, defaultHost: api.host)
        web.port = try settings.integer("WEB_PORT", default: 3000, range: 0...65535)
        web.backendURL = backendURL
        let host = api.host
        let publicHost = ["0.0.0.0", "::"].contains(host) ? "localhost" : host.contains(":") ? "[\(host)]" : host
        mcp.publicURL = mcp.publicURL ?? "http://\(publicHost):\(mcp.port)"
        mcp.webURL = mcp.webURL ?? "http://\(publicHost):\(web.port)"
        api.publicWebURL = api.publicWebURL ?? mcp.webURL
    }
}

/// `todo api`: the backend alone.
public struct APIRoleConfiguration {
    public var common: CommonSettings
    public var api: APIConfiguration
    public var database: DatabaseSettings

    public init(_ settings: SettingsReader) throws {
        common = try CommonSettings(settings, defaultLogFormat: .json)
        api = try APIConfiguration(settings, defaultHost: "0.0.0.0")
        try api.checkMailSettings()
        database = try DatabaseSettings(settings, dataDirectory: common.dataDirectory)
    }
}

/// `todo web`: the web UI alone.
public struct WebRoleConfiguration {
    public var common: CommonSettings
    public var web: WebConfiguration

    public init(_ settings: SettingsReader) throws {
        common = try CommonSettings(settings, defaultLogFormat: .json)
        web = try WebConfiguration(settings, defaultHost: "0.0.0.0")
    }
}

/// `todo mcp`: the MCP server alone.
public struct MCPRoleConfiguration {
    public var common: CommonSettings
    public var mcp: MCPConfiguration

    public init(_ settings: SettingsReader) throws {
        common = try CommonSettings(settings, defaultLogFormat: .json)
        mcp = try MCPConfiguration(settings, defaultHost: "0.0.0.0", backendURL: settings.string("BACKEND_URL", default: "http://127.0.0.1:8000"))
        mcp.port = try settings.integer("PORT", default: try settings.integer("MCP_PORT", default: 8001, range: 0...65535), range: 0...65535)
    }
}

/// `todo migrate`, and the commands that work on the database directly.
public struct MigrateConfiguration {
    public var common: CommonSettings
    public var database: DatabaseSettings

    public init(_ settings: SettingsReader, defaultLogFormat: CommonSettings.LogFormat = .json) throws {
        common = try CommonSettings(settings, defaultLogFormat: defaultLogFormat)
        database = try DatabaseSettings(settings, dataDirectory: common.dataDirectory)
    }
}
