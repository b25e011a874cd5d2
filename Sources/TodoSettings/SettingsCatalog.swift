/// One row of README's configuration table: the settings it names, their default and what they
/// do. The table in README.md is this list, printed by `todo config --table` (a test compares them).
public struct Setting: Sendable {
    /// The environment variables, in the row's order; each is also a flag and a config-file key.
    public let names: [String]
    /// Names accepted for the first one, such as the Phase IV guides' `BETTER_AUTH_SECRET`.
    public let aliases: [String]
    /// Markdown, as the table shows it.
    public let defaultValue: String
    public let meaning: String

    init(_ names: [String], aliases: [String] = [], default defaultValue: String, meaning: String) {
        self.names = names
        self.aliases = aliases
        self.defaultValue = defaultValue
        self.meaning = meaning
    }
}

public enum SettingsCatalog {
    /// Every setting the roles read, in the order README presents them.
    public static let all: [Setting] = [
        Setting(
            ["DATABASE_URL"], default: "`sqlite://./data/todo.db` (in `TODO_DATA_DIR`)",
            meaning: """
                `postgres://user:pass@host:5432/db?sslmode=verify-full&sslrootcert=/path/ca.pem`, `sqlite:///abs/path.db` or a file path; \
                `sslmode` (`disable`, `prefer` when absent, `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file, or `system`) as \
                in libpq ([OPERATIONS.md](docs/OPERATIONS.md#external-postgresql-databasemodeexternal))
                """),
        Setting(
            ["TODO_DATA_DIR"], default: "`./data`",
            meaning: """
                where SQLite and `todo serve`'s generated secrets live (`auth-secret`, `vapid-private-key`)
                """),
        Setting(
            ["TODO_CONFIG_FILE"], default: "unset",
            meaning: """
                a JSON file of settings under the same keys, read after flags and the environment: `{"database": {"pool": {"size": 20}}}` or \
                `{"database.pool.size": 20}` sets `DATABASE_POOL_SIZE`; strings, numbers and booleans; an unknown key stops the start. \
                `--config-file` names it too
                """),
        Setting(
            ["DATABASE_POOL_SIZE"], default: "`10`",
            meaning: """
                PostgreSQL connections, shared out between the event loops (SQLite: reader connections, at most 8)
                """),
        Setting(
            ["DATABASE_TIMEOUT_SECONDS"], default: "`5`",
            meaning: """
                how long a request waits for PostgreSQL (to connect, or for a free connection) before it fails with 503
                """),
        Setting(
            ["MIGRATE_ON_START"], default: "`true`",
            meaning: """
                apply migrations at start-up (safe with many replicas); `false` waits for `todo migrate`
                """),
        Setting(
            ["AUTH_SECRET"], aliases: ["BETTER_AUTH_SECRET"], default: "— (`todo serve` generates one)",
            meaning: """
                HS256 key for access tokens, at least 32 characters; `BETTER_AUTH_SECRET` is accepted as an alias
                """),
        Setting(
            ["AUTH_TOKEN_TTL_SECONDS"], default: "`86400`",
            meaning: """
                lifetime of an access token
                """),
        Setting(
            ["PASSWORD_HASH_COST"], default: "`12`",
            meaning: """
                bcrypt cost (4–31)
                """),
        Setting(
            ["LOGIN_ATTEMPT_LIMIT"], default: "`10`",
            meaning: """
                log-in attempts per account in 15 minutes, counted before the password is checked, before 429 with `Retry-After`; a successful \
                log-in clears the account's count. Five times as many per client address. Shared by every replica on PostgreSQL (in memory on \
                SQLite)
                """),
        Setting(
            ["PUBLIC_WEB_URL"], default: "unset (`todo serve`: its own web address; the web UI: the request's own address)",
            meaning: """
                the web UI's address as browsers reach it (`https://todo.example`): password-reset links point at `PUBLIC_WEB_URL/reset?token=…` \
                and invitations' links at `PUBLIC_WEB_URL/invitations/{id}?token=…` \
                (the API needs it when `SMTP_URL` is set), and it starts the links `todo user invite` and `todo user reset-password --link` print \
                and the redirect URI the web UI sends the single sign-on provider; set it behind a proxy
                """),
        Setting(
            ["SIGNUP"], default: "`open`",
            meaning: """
                `open`: anyone may create an account; `closed`: the web UI hides the form and `POST /api/auth/signup` is 403 `signup_closed`, \
                accounts are made with `todo user create`, and single sign-on only signs in to existing accounts; `invite`: only with an \
                invitation (`todo user invite`, or an admin's page), 403 `invitation_required` without one; single sign-on then makes an account \
                only for an e-mail with a pending invitation (API and web UI read it)
                """),
        Setting(
            ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"], default: "unset",
            meaning: """
                single sign-on with an OpenID Connect provider (Keycloak, Authentik, Google, Entra ID…): its issuer URL exactly as its ID tokens \
                write it (`https://`; `http://` only on a loopback address), and this application's client there, whose redirect URI is `<web UI \
                URL>/auth/oidc/callback`; all three or none. The API reads all three, the web UI `OIDC_ISSUER` (to show the button). \
                docs/OPERATIONS.md, \"Single sign-on\"
                """),
        Setting(
            ["OIDC_NAME"], default: "`single sign-on`",
            meaning: """
                web UI: the log-in page's \"Sign in with …\" button names the provider so
                """),
        Setting(
            ["PASSWORD_LOGIN"], default: "`true`",
            meaning: """
                `false`: no log-in, sign-up or password reset with a password (403 `password_login_disabled`, and the web UI shows only the \
                single sign-on button); only with `OIDC_ISSUER`, else the start stops. Personal tokens keep working
                """),
        Setting(
            ["SIGNUP_ADDRESS_LIMIT"], default: "`10`",
            meaning: """
                sign-ups per client address an hour before 429 with `Retry-After` (1–100000)
                """),
        Setting(
            ["SIGNUP_LIMIT"], default: "`60`",
            meaning: """
                sign-ups a minute from all addresses together before 429 with `Retry-After` (1–100000)
                """),
        Setting(
            ["TASKS_PER_USER_LIMIT"], default: "`100000`",
            meaning: """
                tasks per account; a create, an import (refused whole) or the completion of a recurring task (refused whole, the task stays open) \
                that would pass it gets 409 `quota_exceeded`. `todo import` keeps it too (1–10000000)
                """),
        Setting(
            ["HOST"], default: "`127.0.0.1` for `serve`, `0.0.0.0` for the roles",
            meaning: """
                bind address
                """),
        Setting(
            ["PORT"], default: "`8000` (`api`, `serve`), `3000` (`web`), `8001` (`mcp`)",
            meaning: """
                port of `todo api` (8000), `todo web` (3000) or `todo mcp` (8001); for `serve`, the API's
                """),
        Setting(
            ["API_PORT", "WEB_PORT", "MCP_PORT"], default: "`8000`, `3000`, `8001`",
            meaning: """
                the ports of `todo serve` (and defaults of the roles)
                """),
        Setting(
            ["BACKEND_URL"], default: "`http://127.0.0.1:8000`",
            meaning: """
                where `todo web` and `todo mcp` reach the API
                """),
        Setting(
            ["MCP_URL"], default: "`http://127.0.0.1:8001/mcp`",
            meaning: """
                where the API's assistant reaches the MCP server
                """),
        Setting(
            ["LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"], default: "unset (`https://api.openai.com/v1` with `LLM_API_KEY`), unset, `gpt-4o-mini`",
            meaning: """
                an OpenAI-compatible provider; unset: the offline agent
                """),
        Setting(
            ["LLM_TIMEOUT_SECONDS", "LLM_ATTEMPTS"], default: "`60`, `3`",
            meaning: """
                per-request timeout and attempts (backoff on 429/5xx)
                """),
        Setting(
            ["ASSISTANT_MAX_STEPS"], default: "`6`",
            meaning: """
                model round trips per chat message
                """),
        Setting(
            ["CHAT_TIME_LIMIT_SECONDS"], default: "`90`",
            meaning: """
                a chat turn is cancelled at this deadline, whatever it waits for (a model call and its retries, a tool call); the user gets an \
                answer saying so (1–600)
                """),
        Setting(
            ["CHAT_RATE_LIMIT"], default: "`20`",
            meaning: """
                chat messages per user a minute before 429 `too_many_requests` with `Retry-After`; shared by every replica on PostgreSQL (in \
                memory on SQLite) (1–10000)
                """),
        Setting(
            ["CHAT_CONVERSATION_LIMIT"], default: "`1000`",
            meaning: """
                conversations per user; a message that would start another gets 409 `quota_exceeded` (1–1000000)
                """),
        Setting(
            ["CHAT_MESSAGE_LIMIT"], default: "`10000`",
            meaning: """
                the user's own messages in one conversation (the assistant's replies do not count); past it, 409 `quota_exceeded`: start a new \
                conversation (1–1000000)
                """),
        Setting(
            ["MCP_ALLOWED_ORIGINS"], default: "—",
            meaning: """
                extra browser origins allowed to call the MCP server (comma-separated)
                """),
        Setting(
            ["MCP_PUBLIC_URL"], default: "unset (`todo serve`: its own address)",
            meaning: """
                the MCP server's public base URL (`https://todo.example`), for the RFC 9728 protected-resource metadata and the 401 challenge; \
                never taken from `Host`: unset, the metadata is 404 and the challenge plain `Bearer`
                """),
        Setting(
            ["SMTP_URL"], default: "unset: no mail",
            meaning: """
                the mail server for password-reset mails, the links of invitations to shared projects and, for users who turn them on, reminder mails and the daily digest: \
                `smtp://[user:password@]host[:25]` (STARTTLS whenever the server offers it; a password \
                is only ever sent over TLS, so with credentials a server without STARTTLS gets no mail) or `smtps://user:password@host[:465]` (TLS \
                from the start). User and password percent-encoded (`%40` for `@`); keep the URL in a secret. Unset: \"forgot password\" answers \
                `mail_configured: false` and the web UI says to ask the operator; e-mail reminders and the digest cannot be turned on (409 `mail_disabled`)
                """),
        Setting(
            ["MAIL_FROM"], default: "— (required with `SMTP_URL`)",
            meaning: """
                sender of the reset, reminder and digest mails: `todo@example.com` or `Todo <todo@example.com>`; its domain ends the \
                reminder mails' stable `Message-ID`s
                """),
        Setting(
            ["SMTP_CA_FILE"], default: "unset: the system's CAs",
            meaning: """
                a PEM file of CA certificates that the mail server's certificate is checked against instead (a private CA)
                """),
        Setting(
            ["MCP_WEB_URL"], default: "`PUBLIC_WEB_URL`, else the origin of `MCP_PUBLIC_URL`",
            meaning: """
                the web UI's public URL, named in the metadata as the authorization server and, with `/settings#tokens`, as the documentation \
                (where a personal token is made)
                """),
        Setting(
            ["MCP_SESSION_IDLE_SECONDS"], default: "`3600`",
            meaning: """
                an MCP session unused this long is closed
                """),
        Setting(
            ["MCP_SESSIONS_PER_USER"], default: "`20`",
            meaning: """
                MCP sessions per user in each MCP server process; initializing one more closes the user's least recently used, whose client then \
                gets 404 and initializes again (1–1000)
                """),
        Setting(
            ["HTTP_IDLE_TIMEOUT_SECONDS"], default: "`65`",
            meaning: """
                Every role (API, web UI, MCP): a connection without a complete request head for this long is closed (idle keep-alive, headers sent \
                slowly), and so is one whose request body is not complete this long after its head (a body sent a byte at a time); requests being \
                answered and event streams are not cut. Request heads are limited to 32 KiB and 100 fields (400 above)
                """),
        Setting(
            ["MAX_BODY_SIZE"], default: "`1048576` (API), `16777216` (web)",
            meaning: """
                largest request body in bytes (413 above)
                """),
        Setting(
            ["MAX_IMPORT_SIZE"], default: "`16777216`",
            meaning: """
                largest import document
                """),
        Setting(
            ["REMINDER_INTERVAL_MS"], default: "`1000`",
            meaning: """
                how often each backend looks for due reminders
                """),
        Setting(
            ["EVENT_POLL_INTERVAL_MS"], default: "`250`",
            meaning: """
                live events: how often to look for new events without a notification
                """),
        Setting(
            ["EVENT_HEARTBEAT_SECONDS"], default: "`15`",
            meaning: """
                comment line on idle event streams
                """),
        Setting(
            ["EVENT_RETENTION_HOURS"], default: "`24`",
            meaning: """
                how long events stay available for `Last-Event-ID`
                """),
        Setting(
            ["EVENT_STREAMS_PER_USER"], default: "`10`",
            meaning: """
                live-event streams one user holds open at once per API process, and one browser session per web UI process; past it 429 \
                `too_many_streams`
                """),
        Setting(
            ["EVENT_STREAM_CONNECTIONS"], default: "`1000`",
            meaning: """
                web UI: its pool of backend connections for live-event streams, apart from the pages' pool; a stream past it gets 503 at once
                """),
        Setting(
            ["TRUSTED_PROXIES"], default: "`127.0.0.1,::1`",
            meaning: """
                the proxies in front of the API (web UI, ingress, load balancer), as comma-separated IPv4/IPv6 addresses and CIDR ranges \
                (`10.0.0.0/8,fd00::/8`): the client is the right-most `X-Forwarded-For` entry outside them, and a proxy's own address is never \
                throttled (docs/SECURITY.md). The web UI reads it too: only these proxies' `X-Forwarded-Proto: https` counts
                """),
        Setting(
            ["WEBHOOK_ALLOWED_NETWORKS"], default: "(none)",
            meaning: """
                loopback, link-local, private and other special ranges webhooks may point to after all, as comma-separated addresses and CIDR \
                ranges (`10.20.0.0/16` for a receiver on your own network); every other such address is refused (docs/SECURITY.md)
                """),
        Setting(
            ["VAPID_PRIVATE_KEY"], default: "— (`todo serve` generates one; `todo api` without it: Web Push off)",
            meaning: """
                the P-256 key that signs Web Push messages (VAPID), as 32 bytes in base64url (`npx web-push generate-vapid-keys` prints one) or \
                PEM; every API replica needs the same key, since browsers subscribe with its public half
                """),
        Setting(
            ["VAPID_SUBJECT"], default: "`mailto:admin@localhost`",
            meaning: """
                the contact push services may write to about this server's messages, a `mailto:` or `https:` URL; set a real one before \
                going live
                """),
        Setting(
            ["PUSH_ALLOWED_NETWORKS"], default: "(none)",
            meaning: """
                as `WEBHOOK_ALLOWED_NETWORKS`, for the push service URLs browsers hand over: special ranges push may go to after all, and there \
                over plain http too; elsewhere only https to public addresses
                """),
        Setting(
            ["BACKEND_TIMEOUT_SECONDS"], default: "`10`",
            meaning: """
                how long the web UI waits for the API
                """),
        Setting(
            ["COOKIE_SECURE"], default: "`auto`",
            meaning: """
                web session cookie `Secure` flag: `auto` (when a trusted proxy says the request came over HTTPS: `X-Forwarded-Proto: https` from \
                `TRUSTED_PROXIES`), `true`, `false`; a `Secure` cookie is named `__Host-todo_session`
                """),
        Setting(
            ["SESSION_TTL_SECONDS"], default: "`86400`",
            meaning: """
                web session lifetime
                """),
        Setting(
            ["SHUTDOWN_DRAIN_SECONDS"], default: "`0`",
            meaning: """
                after SIGTERM, answer `/readyz` with 503 this long before closing the listener (set ~5 behind a load balancer)
                """),
        Setting(
            ["SHUTDOWN_TIMEOUT_SECONDS"], default: "`20`",
            meaning: """
                then wait at most this long for in-flight requests
                """),
        Setting(
            ["LOG_LEVEL"], default: "`info`",
            meaning: """
                `trace` … `critical`
                """),
        Setting(
            ["LOG_FORMAT"], default: "`json` (`text` for `serve`)",
            meaning: """
                JSON lines with `request_id`, or plain text
                """),
        Setting(
            ["ACCESS_LOG"], default: "`true`",
            meaning: """
                one log line per request
                """),
    ]

    /// Every name a flag, the environment or the config file may set.
    public static let names: Set<String> = Set(all.flatMap { $0.names + $0.aliases })

    /// Values `todo config` never prints: keys, passwords, and URLs that may carry one.
    public static let secretNames: Set<String> = [
        "AUTH_SECRET", "BETTER_AUTH_SECRET", "OIDC_CLIENT_SECRET", "LLM_API_KEY", "SMTP_URL", "DATABASE_URL", "VAPID_PRIVATE_KEY",
    ]

    /// README's "Configuration" table.
    public static var markdownTable: String {
        let rows = all.map { setting in
            "| \(setting.names.map { "`\($0)`" }.joined(separator: ", ")) | \(setting.defaultValue) | \(setting.meaning) |"
        }
        return (["| variable | default | meaning |", "|---|---|---|"] + rows).joined(separator: "\n")
    }
}
