import TodoAPI
import TodoMCP
import TodoWeb

/// The roles `todo` runs, each with the settings it reads. `todo config` builds the same
/// configurations as the roles, so it stops on the same mistakes with the same messages.
public enum Role: String, CaseIterable, Sendable {
    case serve, api, web, mcp, migrate

    /// Builds the role's configuration from `settings` and throws what would stop its start;
    /// `todo serve`'s secrets are made but not kept.
    public func check(_ settings: SettingsReader) throws {
        switch self {
        case .serve: _ = try ServeConfiguration(settings, keepSecret: { _, make in make() })
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

    /// `keepSecret` gives the access-token key when `AUTH_SECRET` is unset, and the VAPID key when
    /// `VAPID_PRIVATE_KEY` is, from files in the data directory.
    public init(_ settings: SettingsReader, keepSecret: @escaping SecretKeeper = persistentSecret(at:make:)) throws {
        common = try CommonSettings(settings, defaultLogFormat: .text)
        let directory = common.dataDirectory
        func generated(_ name: String, file: String, make: @escaping () -> String) -> () throws -> String {
            {
                let secret = try keepSecret(directory + "/" + file, make)
                settings.noteDefault(name, secret, source: .generated(directory + "/" + file))
                return secret
            }
        }
        api = try APIConfiguration(
            settings, defaultHost: "127.0.0.1", generatedSecret: generated("AUTH_SECRET", file: "auth-secret", make: newAuthSecret),
            generatedVAPIDKey: generated("VAPID_PRIVATE_KEY", file: "vapid-private-key", make: VAPIDKey.newPrivateKey))
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
