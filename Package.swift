// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "todo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "todo", targets: ["todo"]),
    ],
    // Exact versions: Package.resolved stays out of git (the commit ids of a package mirror differ
    // from upstream's), so the versions are pinned here; CI prints the resolved graph.
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", exact: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", exact: "1.13.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", exact: "1.4.0", traits: ["JSON", "CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-system.git", exact: "1.8.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
        // Only the OTLP/HTTP exporter: the default traits add gRPC (grpc-swift and its HTTP/2
        // transport), which the project does not use and which would lengthen every cold build.
        // Traits are why the manifest needs tools version 6.1.
        .package(url: "https://github.com/swift-otel/swift-otel.git", exact: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/yaslab/CSV.swift.git", exact: "2.5.2"),
    ],
    targets: [
        // Domain: types, validation, query model. No I/O.
        .target(name: "TodoCore"),
        // Other apps' exports read into tasks of ours (Todoist's project CSV).
        .target(
            name: "TodoImport",
            dependencies: [
                "TodoCore",
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        // Runs Swift tasks on NIO's event loops: what the servers and the storage share.
        .target(
            name: "TodoRuntime",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Tracing glue every layer shares without the exporter: the request id in the task's
        // context (for X-Request-Id on outgoing calls), database spans, the switch that says
        // whether tracing is on, and the log metadata of the active span.
        .target(
            name: "TodoTracing",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // What every server role needs: the HTTP server, readiness and graceful shutdown, the
        // request-id, access-log and metrics middleware, /metrics, the HTTP client's shutdown.
        .target(
            name: "TodoServer",
            dependencies: [
                "TodoCore",
                "TodoRuntime",
                "TodoTracing",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // Storage: one store protocol per aggregate, SQLite and PostgreSQL implementations, migrations.
        .target(
            name: "TodoStore",
            dependencies: [
                "TodoCore",
                "TodoRuntime",
                "TodoTracing",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Outgoing mail: a small SMTP client (STARTTLS, implicit TLS, AUTH) for password resets.
        .target(
            name: "TodoMail",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Backend HTTP API: routes, auth, errors, operations endpoints.
        .target(
            name: "TodoAPI",
            dependencies: [
                "TodoCore",
                "TodoImport",
                "TodoTracing",
                "TodoServer",
                "TodoStore",
                "TodoAssistant",
                "TodoMail",
                "TodoCalendar",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("openapi.json")]
        ),
        // Typed HTTP client of the backend API (used by the web UI and the MCP server).
        .target(
            name: "TodoClient",
            dependencies: [
                "TodoCore",
                "TodoTracing",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Chat agent: LLM providers (OpenAI-compatible, offline) and the tool loop.
        .target(
            name: "TodoAssistant",
            dependencies: [
                "TodoCore",
                "TodoTracing",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // MCP server: task tools implemented with TodoClient.
        .target(
            name: "TodoMCP",
            dependencies: [
                "TodoCore",
                "TodoServer",
                "TodoClient",
                "TodoTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Web UI server: templates, static assets, uses TodoClient.
        .target(
            name: "TodoWeb",
            dependencies: [
                "TodoCore",
                "TodoServer",
                "TodoClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // Templates and static files are compiled into the binary: the image has no files.
            resources: [
                .embedInCode("Templates/layout.mustache"),
                .embedInCode("Templates/login.mustache"),
                .embedInCode("Templates/forgot.mustache"),
                .embedInCode("Templates/reset.mustache"),
                .embedInCode("Templates/signup.mustache"),
                .embedInCode("Templates/tasks.mustache"),
                .embedInCode("Templates/task_list.mustache"),
                .embedInCode("Templates/sidebar_item.mustache"),
                .embedInCode("Templates/sidebar_lists.mustache"),
                .embedInCode("Templates/edit.mustache"),
                .embedInCode("Templates/settings.mustache"),
                .embedInCode("Templates/admin.mustache"),
                .embedInCode("Templates/chat.mustache"),
                .embedInCode("Templates/message.mustache"),
                .embedInCode("Templates/invitation.mustache"),
                .embedInCode("Templates/share.mustache"),
                .embedInCode("Templates/confirm_delete.mustache"),
                .embedInCode("Static/app.css"),
                .embedInCode("Static/app.js"),
                .embedInCode("Static/theme.js"),
                .embedInCode("Static/icon.svg"),
                .embedInCode("Static/icon-192.png"),
                .embedInCode("Static/icon-512.png"),
                .embedInCode("Static/icon-maskable-512.png"),
                .embedInCode("Static/sw.js"),
            ]
        ),
        // Settings: the layers (flags, environment, config file, .env), the typed reads with their
        // checks, each role's configuration, and the catalog README's table is printed from.
        .target(
            name: "TodoSettings",
            dependencies: [
                "TodoAPI",
                "TodoAssistant",
                "TodoCore",
                "TodoMail",
                "TodoMCP",
                "TodoServer",
                "TodoStore",
                "TodoWeb",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // iCalendar (RFC 5545): the calendar feed now, CalDAV next.
        .target(name: "TodoCalendar", dependencies: ["TodoCore"]),
        // The executable: subcommands, configuration, wiring.
        .executableTarget(
            name: "todo",
            dependencies: [
                "TodoAPI",
                "TodoStore",
                "TodoCore",
                "TodoMail",
                "TodoMCP",
                "TodoWeb",
                "TodoAssistant",
                "TodoServer",
                "TodoSettings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What the test targets that start servers share.
        .target(
            name: "TodoTestSupport",
            dependencies: [
                "TodoAPI",
                "TodoClient",
                "TodoServer",
                "TodoStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TodoTestSupport"),
        .testTarget(name: "TodoCoreTests", dependencies: ["TodoCore"]),
        .testTarget(name: "TodoImportTests", dependencies: ["TodoImport", "TodoCore"]),
        .testTarget(name: "TodoCalendarTests", dependencies: ["TodoCalendar", "TodoCore"]),
        .testTarget(name: "TodoSettingsTests", dependencies: ["TodoSettings", "TodoCore"]),
        .testTarget(name: "TodoAssistantTests", dependencies: ["TodoAssistant", "TodoCore"]),
        .testTarget(
            name: "TodoMailTests",
            dependencies: [
                "TodoMail",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TodoStoreTests",
            dependencies: [
                "TodoStore",
                "TodoCore",
                "TodoRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "TodoAPITests",
            dependencies: [
                "TodoAPI",
                "TodoStore",
                "TodoCore",
                "TodoServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // TodoClient against the real backend, in process on a real socket.
        .testTarget(
            name: "TodoClientTests",
            dependencies: [
                "TodoTestSupport",
                "TodoClient",
                "TodoTracing",
                "TodoAPI",
                "TodoStore",
                "TodoCore",
                "TodoServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The web UI server against a live backend, and its helpers.
        .testTarget(
            name: "TodoWebTests",
            dependencies: [
                "TodoTestSupport",
                "TodoWeb",
                "TodoMail",
                "TodoClient",
                "TodoAPI",
                "TodoStore",
                "TodoCore",
                "TodoServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The MCP server in process, in front of a live backend, and the assistant's client of it.
        .testTarget(
            name: "TodoMCPTests",
            dependencies: [
                "TodoMCP",
                "TodoTracing",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "TodoAssistant",
                "TodoClient",
                "TodoAPI",
                "TodoStore",
                "TodoCore",
                "TodoServer",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
