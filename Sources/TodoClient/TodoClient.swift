import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TodoCore
import TodoTracing

/// A typed client of the backend API, used by the web UI and the MCP server: they reach data
/// only through the API, exactly as they do in the cluster. Every call acts as the user whose
/// bearer token it carries, takes and returns domain values, and throws `TodoClientError`.
public struct TodoClient: Sendable {
    private let baseURL: String
    private let http: HTTPClient
    private let timeout: TimeAmount
    private static let decoder = JSONDecoder()
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `baseURL` like `http://127.0.0.1:8000` (no trailing slash needed).
    public init(baseURL: String, http: HTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = http
        self.timeout = Self.timeAmount(timeout)
    }

    // MARK: Accounts

    /// A log-in session: the access token and when it expires.
    public struct Session: Sendable, Decodable {
        public var token: String
        public var expiresAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case token
            case expiresAt = "expires_at"
        }
    }

    /// The browser a sign-up or log-in is made for: the `X-Forwarded-For` chain of its request,
    /// so that the backend can tell clients apart behind the web server (it throttles per client),
    /// and its `User-Agent`, which names the session on the sessions page.
    public struct Browser: Sendable {
        public var forwardedFor: String?
        public var userAgent: String?

        public init(forwardedFor: String?, userAgent: String?) {
            self.forwardedFor = forwardedFor
            self.userAgent = userAgent
        }

        var headers: [(String, String)] {
            [("X-Forwarded-For", forwardedFor), ("User-Agent", userAgent)].compactMap { name, value in value.map { (name, $0) } }
        }
    }

    public func signUp(email: String, password: String, name: String?, invitation: String? = nil, for browser: Browser? = nil) async throws -> Session {
        var body: [String: JSONValue] = ["email": .string(email), "password": .string(password)]
        if let name { body["name"] = .string(name) }
        if let invitation { body["invitation"] = .string(invitation) }
        return try await send(.POST, "/api/auth/signup", body: JSONValue.object(body), headers: browser?.headers ?? []).value
    }

    public func logIn(email: String, password: String, for browser: Browser? = nil) async throws -> Session {
        let body: JSONValue = .object(["email": .string(email), "password": .string(password)])
        return try await send(.POST, "/api/auth/login", body: body, headers: browser?.headers ?? []).value
    }

    /// Where to send a browser to sign in at the OpenID Connect provider.
    public struct SingleSignOnStart: Sendable, Decodable {
        public var clientID: String
        public var authorizationEndpoint: String
        public var scope: String

        enum CodingKeys: String, CodingKey {
            case scope
            case clientID = "client_id", authorizationEndpoint = "authorization_endpoint"
        }
    }

    /// The provider's authorization endpoint and this server's client id there; `.notFound` when
    /// single sign-on is not configured.
    public func singleSignOnStart() async throws -> SingleSignOnStart {
        try await send(.GET, "/api/auth/oidc").value
    }

    /// Signs in with the code the provider sent the browser back with. A refused code or ID token
    /// is `.validation` (`invalid_oidc`); a provider that cannot be reached `.rejected(502, …)`.
    public func signInWithProvider(code: String, verifier: String, redirectURI: String, nonce: String, for browser: Browser? = nil)
        async throws -> Session
    {
        let body: JSONValue = .object([
            "code": .string(code), "code_verifier": .string(verifier), "redirect_uri": .string(redirectURI), "nonce": .string(nonce),
        ])
        return try await send(.POST, "/api/auth/oidc", body: body, headers: browser?.headers ?? []).value
    }

    /// Ends the log-in session of `token`.
    public func logOut(token: String) async throws {
        let _: Empty = try await send(.POST, "/api/auth/logout", token: token).value
    }

    /// Ends every log-in session of the user, this one included.
    public func logOutEverywhere(token: String) async throws {
        let _: Empty = try await send(.POST, "/api/auth/logout-all", token: token).value
    }

    /// A new password; every other session of the user ends (and, with `revokeTokens`, every
    /// personal token). A wrong current password is `.forbidden` with code `wrong_password`.
    public func changePassword(token: String, current: String, new: String, revokeTokens: Bool) async throws {
        let body: JSONValue = .object([
            "current_password": .string(current), "new_password": .string(new), "revoke_api_tokens": .bool(revokeTokens),
        ])
        let _: Empty = try await send(.POST, "/api/auth/password", token: token, body: body).value
    }

    /// Asks for a reset link by mail. The answer is the same whether or not the e-mail has an
    /// account; it says whether the server sends mail at all (if not, the operator resets passwords).
    public func forgotPassword(email: String, for browser: Browser? = nil) async throws -> Bool {
        struct Accepted: Decodable {
            var mailConfigured: Bool
            enum CodingKeys: String, CodingKey { case mailConfigured = "mail_configured" }
        }
        let body: JSONValue = .object(["email": .string(email)])
        let accepted: Accepted = try await send(.POST, "/api/auth/forgot", body: body, headers: browser?.headers ?? []).value
        return accepted.mailConfigured
    }

    /// A new password with a reset link's token; every session of the account ends. A token that
    /// is unknown, expired or used is `.rejected` with code `invalid_token`.
    public func resetPassword(token: String, newPassword: String, for browser: Browser? = nil) async throws {
        let body: JSONValue = .object(["token": .string(token), "new_password": .string(newPassword)])
        let _: Empty = try await send(.POST, "/api/auth/reset", body: body, headers: browser?.headers ?? []).value
    }

    /// Deletes the account and everything it owns.
    public func deleteAccount(token: String, password: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/auth/me", token: token, body: JSONValue.object(["password": .string(password)])).value
    }

    /// Where the user is signed in.
    public struct SessionSummary: Sendable, Decodable {
        public var id: String
        public var createdAt: Timestamp
        public var lastUsedAt: Timestamp
        public var userAgent: String?
        public var current: Bool

        enum CodingKeys: String, CodingKey {
            case id, current
            case createdAt = "created_at", lastUsedAt = "last_used_at", userAgent = "user_agent"
        }
    }

    public func listSessions(token: String) async throws -> [SessionSummary] {
        struct SessionList: Decodable { var items: [SessionSummary] }
        let list: SessionList = try await send(.GET, "/api/auth/sessions", token: token).value
        return list.items
    }

    public func endSession(token: String, id: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/auth/sessions/\(Self.pathSegment(id))", token: token).value
    }

    public func me(token: String) async throws -> User {
        try await send(.GET, "/api/auth/me", token: token).value
    }

    // MARK: Administration (admins only)

    /// An account as an admin sees it.
    public struct AccountSummary: Sendable, Decodable {
        public var user: User
        public var disabled: Bool

        enum CodingKeys: String, CodingKey { case disabled }

        public init(from decoder: any Decoder) throws {
            user = try User(from: decoder)
            disabled = try decoder.container(keyedBy: CodingKeys.self).decode(Bool.self, forKey: .disabled)
        }
    }

    public struct Invitation: Sendable, Decodable {
        public var email: String
        public var token: String
        public var expiresAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case email, token
            case expiresAt = "expires_at"
        }
    }

    public func listAccounts(token: String) async throws -> [AccountSummary] {
        struct AccountList: Decodable { var items: [AccountSummary] }
        let list: AccountList = try await send(.GET, "/api/admin/users", token: token).value
        return list.items
    }

    /// Disables or enables an account (`disabled`), or makes or unmakes an admin (`admin`).
    public func changeAccount(token: String, id: String, disabled: Bool? = nil, admin: Bool? = nil) async throws -> AccountSummary {
        var body: [String: JSONValue] = [:]
        if let disabled { body["disabled"] = .bool(disabled) }
        if let admin { body["admin"] = .bool(admin) }
        return try await send(.PATCH, "/api/admin/users/\(Self.pathSegment(id))", token: token, body: JSONValue.object(body)).value
    }

    public func invite(token: String, email: String) async throws -> Invitation {
        try await send(.POST, "/api/admin/invitations", token: token, body: JSONValue.object(["email": .string(email)])).value
    }

    // MARK: Tasks

    /// One page of the caller's tasks.
    public func listTasks(token: String, query: TaskQuery = TaskQuery()) async throws -> TaskPage {
        let page: PageBody = try await send(.GET, "/api/me/tasks?" + Self.queryString(query.parameters), token: token).value
        guard let cursor = page.nextCursor else { return TaskPage(items: page.items, nextCursor: nil) }
        guard let nextCursor = TaskCursor(token: cursor) else { throw TodoClientError.unexpectedResponse("next_cursor is not a list cursor") }
        return TaskPage(items: page.items, nextCursor: nextCursor)
    }

    /// A task and its `ETag`, to send back as `ifMatch` with a change.
    public func task(token: String, id: TaskID) async throws -> (task: TodoTask, etag: String?) {
        let answer: (value: TodoTask, headers: HTTPHeaders) = try await send(.GET, "/api/me/tasks/\(id)", token: token)
        return (answer.value, answer.headers.first(name: "ETag"))
    }

    /// Creates a task in `projectID`, or in the Inbox without one.
    public func createTask(token: String, fields: TaskFields, projectID: ProjectID? = nil) async throws -> TodoTask {
        var patch = TaskPatch(setting: fields)
        patch.projectID = projectID
        return try await createTask(token: token, patch: patch)
    }

    /// Creates a task of the fields the patch sets (the others take their defaults): a sub-task
    /// with `parentID`.
    public func createTask(token: String, patch: TaskPatch) async throws -> TodoTask {
        try await send(.POST, "/api/me/tasks", token: token, body: TaskBody(patch: patch)).value
    }

    /// Changes only the fields the patch sets. With `ifMatch` (an `ETag`), the change is made only
    /// if the task has not changed since: else it throws `TodoClientError.versionConflict`.
    public func updateTask(token: String, id: TaskID, patch: TaskPatch, ifMatch: String? = nil) async throws -> TodoTask {
        try await send(.PATCH, "/api/me/tasks/\(id)", token: token, body: TaskBody(patch: patch),
                       headers: ifMatch.map { [("If-Match", $0)] } ?? []).value
    }

    /// Marks complete or incomplete; `nil` toggles.
    public func completeTask(token: String, id: TaskID, completed: Bool? = true) async throws -> TodoTask {
        try await send(.PATCH, "/api/me/tasks/\(id)/complete", token: token, body: completed.map { JSONValue.object(["completed": .bool($0)]) }).value
    }

    public func deleteTask(token: String, id: TaskID) async throws {
        let _: Empty = try await send(.DELETE, "/api/me/tasks/\(id)", token: token).value
    }

    // MARK: Projects

    /// The projects the caller is a member of, in the caller's order, archived ones included.
    public func listProjects(token: String) async throws -> [Project] {
        let list: Items<Project> = try await send(.GET, "/api/me/projects", token: token).value
        return list.items
    }

    /// Creates a project owned by the caller, at the end of their list.
    public func createProject(token: String, name: String, color: String? = nil) async throws -> Project {
        var fields: [String: JSONValue] = ["name": .string(name)]
        if let color { fields["color"] = .string(color) }
        return try await send(.POST, "/api/me/projects", token: token, body: JSONValue.object(fields)).value
    }

    // MARK: Sharing

    /// A project's members (and, for its owners, its pending invitations).
    public struct Members: Sendable, Decodable {
        public var items: [Member]
        public var invitations: [PendingInvitation]
    }

    public struct Member: Sendable, Decodable {
        public var userID: String
        public var email: String
        public var name: String?
        public var role: ProjectRole

        enum CodingKeys: String, CodingKey {
            case userID = "user_id", email, name, role
        }
    }

    public struct PendingInvitation: Sendable, Decodable {
        public var id: String
        public var email: String
        public var role: ProjectRole
    }

    /// An invitation just made: its link, and whether the server mails it to the address.
    public struct MadeInvitation: Sendable, Decodable {
        public var email: String
        public var acceptURL: String
        public var mailed: Bool

        enum CodingKeys: String, CodingKey {
            case email, mailed, acceptURL = "accept_url"
        }
    }

    public func members(token: String, projectID: ProjectID) async throws -> Members {
        try await send(.GET, "/api/me/projects/\(projectID)/members", token: token).value
    }

    public func invite(token: String, projectID: ProjectID, email: String, role: ProjectRole) async throws -> MadeInvitation {
        try await send(.POST, "/api/me/projects/\(projectID)/invitations", token: token,
                       body: JSONValue.object(["email": .string(email), "role": .string(role.rawValue)])).value
    }

    public func changeRole(token: String, projectID: ProjectID, memberID: String, to role: ProjectRole) async throws {
        let _: Empty = try await send(.PATCH, "/api/me/projects/\(projectID)/members/\(memberID)", token: token,
                                      body: JSONValue.object(["role": .string(role.rawValue)])).value
    }

    /// Removes a member (an owner's call), or with `me` leaves the project.
    public func removeMember(token: String, projectID: ProjectID, memberID: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/me/projects/\(projectID)/members/\(memberID)", token: token).value
    }

    // MARK: Project invitations

    /// Joins the project of an invitation, claimed with its link's secret; the project joined.
    public func acceptInvitation(token: String, id: String, secret: String) async throws -> Project {
        try await send(.POST, "/api/me/invitations/\(id)/accept", token: token, body: JSONValue.object(["token": .string(secret)])).value
    }

    /// Declines an invitation, claimed with its link's secret.
    public func declineInvitation(token: String, id: String, secret: String) async throws {
        let _: Empty = try await send(.POST, "/api/me/invitations/\(id)/decline", token: token, body: JSONValue.object(["token": .string(secret)])).value
    }

    // MARK: Personal tokens

    /// A personal API token as listed (the secret itself is shown only once, at creation).
    public struct TokenSummary: Sendable, Decodable {
        public var id: String
        public var name: String
        public var createdAt: Timestamp
        public var expiresAt: Timestamp?
        public var lastUsedAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case id, name
            case createdAt = "created_at", expiresAt = "expires_at", lastUsedAt = "last_used_at"
        }
    }

    /// A new personal API token with its secret.
    public struct CreatedToken: Sendable, Decodable {
        public var name: String
        public var token: String
    }

    /// Personal API tokens need a log-in session token, not a personal token.
    public func listTokens(token: String) async throws -> [TokenSummary] {
        let list: TokenList = try await send(.GET, "/api/tokens", token: token).value
        return list.items
    }

    public func createToken(token: String, name: String, expiresAt: Timestamp? = nil) async throws -> CreatedToken {
        var body: [String: JSONValue] = ["name": .string(name)]
        if let expiresAt { body["expires_at"] = .string(expiresAt.rfc3339) }
        return try await send(.POST, "/api/tokens", token: token, body: JSONValue.object(body)).value
    }

    public func revokeToken(token: String, id: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/tokens/\(Self.pathSegment(id))", token: token).value
    }

    // MARK: Webhooks

    public struct WebhookSummary: Sendable, Decodable, Equatable {
        public var id: String
        public var url: String
        public var events: [String]
        /// The one project whose tasks it hears of; nil for all of the account's projects.
        public var projectID: String?
        public var createdAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case id, url, events
            case projectID = "project_id", createdAt = "created_at"
        }
    }

    /// A new webhook's signing secret: in this answer only.
    public struct CreatedWebhook: Sendable, Decodable {
        public var id: String
        public var secret: String
    }

    public struct WebhookDeliverySummary: Sendable, Decodable, Equatable {
        public var eventID: String
        public var type: String
        public var attempt: Int
        public var status: Int?
        public var deliveredAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case type, attempt, status
            case eventID = "event_id", deliveredAt = "delivered_at"
        }
    }

    public func listWebhooks(token: String) async throws -> [WebhookSummary] {
        let list: Items<WebhookSummary> = try await send(.GET, "/api/me/webhooks", token: token).value
        return list.items
    }

    /// A webhook for the tasks of `projectID`, or without one for those of every project of the account's.
    public func createWebhook(token: String, url: String, events: [String], projectID: String? = nil) async throws -> CreatedWebhook {
        var fields: [String: JSONValue] = ["url": .string(url), "events": .array(events.map(JSONValue.string))]
        if let projectID { fields["project_id"] = .string(projectID) }
        let body = JSONValue.object(fields)
        return try await send(.POST, "/api/me/webhooks", token: token, body: body).value
    }

    public func deleteWebhook(token: String, id: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/me/webhooks/\(Self.pathSegment(id))", token: token).value
    }

    /// The webhook's latest deliveries, newest first.
    public func webhookDeliveries(token: String, id: String) async throws -> [WebhookDeliverySummary] {
        let list: Items<WebhookDeliverySummary> = try await send(.GET, "/api/me/webhooks/\(Self.pathSegment(id))/deliveries", token: token).value
        return list.items
    }

    // MARK: E-mail notifications

    struct NotificationSettingsBody: Codable {
        var emailReminders: Bool?
        var dailyDigest: Bool?
        var digestTime: String?
        var timeZone: String?
        /// In answers only: whether the server sends mail at all.
        var mailEnabled: Bool?

        enum CodingKeys: String, CodingKey {
            case emailReminders = "email_reminders", dailyDigest = "daily_digest", digestTime = "digest_time", timeZone = "time_zone"
            case mailEnabled = "mail_enabled"
        }

        var settings: NotificationSettings {
            NotificationSettings(
                emailReminders: emailReminders ?? false, dailyDigest: dailyDigest ?? false,
                digestTime: digestTime.flatMap(DigestTime.init) ?? NotificationSettings().digestTime, timeZone: timeZone ?? "UTC")
        }
    }

    /// The caller's e-mail reminders and digest settings, and whether the server sends mail at all
    /// (`mail_enabled`; without mail both read as off and cannot be turned on).
    public func notificationSettings(token: String) async throws -> (settings: NotificationSettings, mailEnabled: Bool) {
        let body: NotificationSettingsBody = try await send(.GET, "/api/me/notification-settings", token: token).value
        return (body.settings, body.mailEnabled ?? true)
    }

    /// Changes the fields given (nil: unchanged) and answers the whole settings. Throws 409
    /// `mail_disabled` when turning mail on on a server without it, 422 for a bad time or zone.
    public func updateNotificationSettings(
        token: String, emailReminders: Bool? = nil, dailyDigest: Bool? = nil, digestTime: String? = nil, timeZone: String? = nil
    ) async throws -> NotificationSettings {
        let body = NotificationSettingsBody(emailReminders: emailReminders, dailyDigest: dailyDigest, digestTime: digestTime, timeZone: timeZone)
        let answer: NotificationSettingsBody = try await send(.PATCH, "/api/me/notification-settings", token: token, body: body).value
        return answer.settings
    }

    // MARK: Calendar feed

    /// The secret URL of the caller's calendar feed: absolute when the backend knows the web UI's
    /// address (`PUBLIC_WEB_URL`), else a path on it.
    public func calendarFeedURL(token: String) async throws -> String {
        let answer: FeedURL = try await send(.GET, "/api/me/feed-url", token: token).value
        return answer.url
    }

    /// Revokes the feed's URL; the next `calendarFeedURL` is a new one.
    public func revokeCalendarFeed(token: String) async throws {
        let _: Empty = try await send(.DELETE, "/api/me/feed-url", token: token).value
    }

    // MARK: Import, export, chat

    /// The caller's tasks as a `todo-export` document, as the backend streams it: the document
    /// passes through a page of tasks at a time, never whole (100,000 tasks are some 30 MB).
    public func exportTasks(token: String) async throws -> HTTPClientResponse.Body {
        try await execute(.GET, "/api/me/export", token: token).body
    }

    /// Adds the tasks of a `todo-export` document; returns how many.
    public func importTasks(token: String, document: JSONValue) async throws -> Int {
        let result: Imported = try await send(.POST, "/api/me/import", token: token, body: document).value
        return result.imported
    }

    /// A Todoist project imported (`POST /api/me/import/todoist`).
    public struct TodoistImport: Sendable, Decodable {
        public var project: Project
        public var imported: Int
        public var notMapped: [String]

        enum CodingKeys: String, CodingKey {
            case project, imported
            case notMapped = "not_mapped"
        }
    }

    /// Makes a new project `name` of a Todoist project's CSV export, its dates read in `timeZone`.
    public func importTodoist(token: String, csv: Data, name: String, timeZone: String) async throws -> TodoistImport {
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "name", value: name), URLQueryItem(name: "timezone", value: timeZone)]
        let path = "/api/me/import/todoist?" + (query.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return try await send(.POST, path, token: token, content: (type: "text/csv; charset=utf-8", bytes: ByteBuffer(bytes: csv))).value
    }

    /// The assistant's answer to one chat message.
    public struct ChatReply: Sendable, Decodable {
        public var conversationID: String
        public var response: String

        enum CodingKeys: String, CodingKey {
            case response
            case conversationID = "conversation_id"
        }
    }

    /// Sends one message to the assistant; `conversationID` continues a conversation.
    /// `timeZone` (IANA) is the user's, for relative dates in requests and answers.
    public func chat(token: String, message: String, conversationID: String? = nil, timeZone: String? = nil) async throws -> ChatReply {
        var body: [String: JSONValue] = ["message": .string(message)]
        if let timeZone { body["time_zone"] = .string(timeZone) }
        if let conversationID { body["conversation_id"] = .string(conversationID) }
        return try await send(.POST, "/api/me/chat", token: token, body: JSONValue.object(body)).value
    }

    // MARK: Health and proxying

    /// Whether the backend answers `/readyz` with 200.
    public func isReady() async -> Bool {
        await answersOK("/readyz", timeout: .seconds(2))
    }

    /// Whether the backend process answers at all (`/healthz` with 200), whatever the state
    /// of its database.
    public func isReachable(timeout: Duration = .seconds(2)) async -> Bool {
        await answersOK("/healthz", timeout: timeout)
    }

    private func answersOK(_ path: String, timeout: Duration) async -> Bool {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: Self.timeAmount(timeout)) else { return false }
        _ = try? await response.body.collect(upTo: 64 << 10)
        return response.status == .ok
    }

    /// Sends a request as it came (for a reverse proxy) and returns the answer unread, so that
    /// streams such as Server-Sent Events pass through as they arrive. `timeout` bounds the wait
    /// for the response head only. Throws `TodoClientError.unavailable` when there is no answer.
    public func forward(
        method: String, path: String, headers: [(String, String)], body: ByteBuffer?, timeout: Duration
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.addRequestID()
        if let body { request.body = .bytes(body) }
        do {
            return try await http.execute(request, timeout: Self.timeAmount(timeout))
        } catch {
            throw TodoClientError.unavailable(String(describing: error))
        }
    }

    // MARK: Transport

    struct Empty: Decodable {}

    struct FeedURL: Decodable {
        var url: String
    }

    struct TokenList: Decodable {
        var items: [TokenSummary]
    }

    struct Items<Item: Decodable>: Decodable {
        var items: [Item]
    }

    struct Imported: Decodable {
        var imported: Int
    }

    struct PageBody: Decodable {
        var items: [TodoTask]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case items
            case nextCursor = "next_cursor"
        }
    }

    /// Sends a request and decodes the answer; returns it with the response headers, or throws
    /// the API's error as a `TodoClientError`.
    func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, token: String? = nil, body: (any Encodable)? = nil, headers: [(String, String)] = []
    ) async throws -> (value: Response, headers: HTTPHeaders) {
        let content = try body.map { (type: "application/json", bytes: ByteBuffer(bytes: try Self.encoder.encode($0))) }
        return try await send(method, path, token: token, content: content, headers: headers)
    }

    /// The same with a body of any type, already encoded.
    func send<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, token: String?, content: (type: String, bytes: ByteBuffer)?, headers: [(String, String)] = []
    ) async throws -> (value: Response, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let content {
            request.headers.add(name: "Content-Type", value: content.type)
            request.body = .bytes(content.bytes)
        }
        return try await decoded(request)
    }

    /// The answer to `request`, decoded.
    func decoded<Response: Decodable>(_ request: HTTPClientRequest) async throws -> (value: Response, headers: HTTPHeaders) {
        let response = try await execute(request)
        let bytes = try await response.body.collect(upTo: 32 << 20)
        if Response.self == Empty.self { return (Empty() as! Response, response.headers) }
        do {
            return (try Self.decoder.decode(Response.self, from: Data(bytes.readableBytesView)), response.headers)
        } catch {
            throw TodoClientError.unexpectedResponse(String(describing: error))
        }
    }

    /// A successful answer with its body unread; an error status throws its `TodoClientError`.
    func execute(_ method: HTTPMethod, _ path: String, token: String) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        return try await execute(request)
    }

    private func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        var request = request
        request.headers.addRequestID()
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw TodoClientError.unavailable(String(describing: error))
        }
        guard (200..<300).contains(response.status.code) else {
            throw TodoClientError(status: Int(response.status.code), problem: Self.problem(in: try await response.body.collect(upTo: 64 << 10)),
                                  retryAfter: response.headers.first(name: "Retry-After"))
        }
        return response
    }

    static func problem(in bytes: ByteBuffer) -> APIProblem {
        struct Envelope: Decodable { var error: APIProblem }
        return (try? decoder.decode(Envelope.self, from: Data(bytes.readableBytesView)).error)
            ?? APIProblem(code: "unknown", message: String(buffer: bytes).prefix(200).description, details: nil)
    }

    static func queryString(_ parameters: [(String, String)]) -> String {
        parameters.map { name, value in pathSegment(name) + "=" + pathSegment(value) }.joined(separator: "&")
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Percent-encodes everything but the unreserved characters of RFC 3986.
    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

// MARK: - Request bodies

extension TaskPatch {
    /// A patch that sets every field to its value in `fields`: the body of a create.
    init(setting fields: TaskFields) {
        self.init()
        title = fields.title
        description = fields.description
        completed = fields.completed
        priority = fields.priority
        tags = fields.tags
        dueAt = .some(fields.dueAt)
        remindAt = .some(fields.remindAt)
        recurrence = .some(fields.recurrence)
    }
}

/// The JSON of a task create or patch: every field the patch sets, a cleared one as `null`.
struct TaskBody: Encodable {
    var patch: TaskPatch

    enum CodingKeys: String, CodingKey {
        case title, description, completed, priority, tags, recurrence
        case dueAt = "due_at", remindAt = "remind_at", projectID = "project_id", parentID = "parent_id", position
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(patch.title, forKey: .title)
        try container.encodeIfPresent(patch.description, forKey: .description)
        try container.encodeIfPresent(patch.completed, forKey: .completed)
        try container.encodeIfPresent(patch.priority, forKey: .priority)
        try container.encodeIfPresent(patch.tags, forKey: .tags)
        // `Optional.encode` writes `null` for a field the patch clears.
        if let dueAt = patch.dueAt { try container.encode(dueAt, forKey: .dueAt) }
        if let remindAt = patch.remindAt { try container.encode(remindAt, forKey: .remindAt) }
        if let recurrence = patch.recurrence { try container.encode(recurrence, forKey: .recurrence) }
        try container.encodeIfPresent(patch.projectID.map(String.init), forKey: .projectID)
        if let parentID = patch.parentID { try container.encode(parentID.map(String.init), forKey: .parentID) }
        try container.encodeIfPresent(patch.position, forKey: .position)
    }
}

extension TaskQuery {
    /// The query parameters of `GET /api/me/tasks` that ask for this query (the inverse of
    /// `TaskQuery(parameters:)`, which the backend reads them with).
    var parameters: [(String, String)] {
        var parameters = [("status", status.rawValue), ("sort", sort.parameterValue), ("limit", String(limit))]
        if !priorities.isEmpty { parameters.append(("priority", priorities.map(\.rawValue).joined(separator: ","))) }
        parameters += tags.map { ("tag", $0) }
        if let dueAfter { parameters.append(("due_after", dueAfter.rfc3339)) }
        if let dueBefore { parameters.append(("due_before", dueBefore.rfc3339)) }
        if let search { parameters.append(("q", search)) }
        if let project { parameters.append(("project", String(project))) }
        switch parent {
        case .topLevel?: parameters.append(("parent", "none"))
        case .task(let id)?: parameters.append(("parent", String(id)))
        case nil: break
        }
        if assignedToCaller { parameters.append(("assignee", "me")) }
        if let cursor { parameters.append(("cursor", cursor.token)) }
        return parameters
    }
}

// MARK: - Errors

/// The `error` object of an API error response.
public struct APIProblem: Sendable, Decodable, Equatable {
    public var code: String
    public var message: String
    public var details: [FieldIssue]?
}

/// What went wrong with a call, by what the caller can do about it. `init(status:problem:retryAfter:)`
/// is the one place that maps the API's statuses to these cases.
public enum TodoClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 401: no valid token (wrong, revoked or expired), or wrong log-in credentials.
    case unauthorized(APIProblem)
    /// 403: the token may not do this (a personal token managing tokens).
    case forbidden(APIProblem)
    /// 404: no such task, token, conversation or route (or it belongs to someone else).
    case notFound
    /// 405 or 501: this backend does not offer the call.
    case unsupported(APIProblem)
    /// 409: the change collides with what is stored (`email_taken`, a task changing too often).
    case conflict(APIProblem)
    /// 412: the task changed since the version sent as `If-Match`.
    case versionConflict
    /// 400 or 422: the input breaks the rules; `issues` has one entry per field, `message` all of them.
    case validation([FieldIssue], message: String)
    /// 429: too many attempts; `retryAfter` is the backend's `Retry-After`, when it sent one.
    case rateLimited(retryAfter: Duration?)
    /// 503, or no answer at all (down, timed out).
    case unavailable(String)
    /// Any other error status, with the API's explanation.
    case rejected(status: Int, APIProblem)
    /// A success whose body is not the documented format.
    case unexpectedResponse(String)

    init(status: Int, problem: APIProblem, retryAfter: String?) {
        self = switch status {
        case 400 where problem.code == "invalid_token": .rejected(status: 400, problem)
        case 400, 422: .validation(problem.details ?? [], message: problem.message)
        case 401: .unauthorized(problem)
        case 403: .forbidden(problem)
        case 404: .notFound
        case 405, 501: .unsupported(problem)
        case 409: .conflict(problem)
        case 412: .versionConflict
        case 429: .rateLimited(retryAfter: retryAfter.flatMap(Int64.init).map { .seconds($0) })
        case 503: .unavailable(problem.message)
        default: .rejected(status: status, problem)
        }
    }

    public var description: String {
        switch self {
        case .unauthorized(let problem): "unauthorized: \(problem.message)"
        case .forbidden(let problem): "forbidden: \(problem.message)"
        case .notFound: "not found"
        case .unsupported(let problem): "not supported by the backend: \(problem.message)"
        case .conflict(let problem): "conflict (\(problem.code)): \(problem.message)"
        case .versionConflict: "the task changed since the version in If-Match"
        case .validation(_, let message): "invalid input: \(message)"
        case .rateLimited(let retryAfter): "too many requests" + (retryAfter.map { "; retry after \($0.components.seconds) s" } ?? "")
        case .unavailable(let reason): "the backend is unavailable: \(reason)"
        case .rejected(let status, let problem): "\(status) \(problem.code): \(problem.message)"
        case .unexpectedResponse(let reason): "unexpected answer from the backend: \(reason)"
        }
    }
}
