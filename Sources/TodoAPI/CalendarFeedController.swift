import Crypto
import Foundation
import Hummingbird
import TodoCalendar
import TodoCore
import TodoStore

/// The read-only calendar feed (SPEC 9, CalDAV): `GET /api/{user_id}/feed-url` gives the secret
/// URL, `DELETE` revokes it (the next `GET` gives a new one), and `GET /api/feed/{token}.ics` is
/// the feed itself, for calendar apps that subscribe without signing in.
///
/// The token is `<user id>.<MAC>`, the MAC of the user id and the account's feed generation under
/// a key derived from `AUTH_SECRET`: nothing secret is stored, revoking increments the
/// generation, and rotating `AUTH_SECRET` revokes every feed.
struct CalendarFeedController<Context: AppRequestContext>: Sendable {
    let accounts: any AccountStore
    let tasks: any TaskStore
    let key: SymmetricKey
    /// `PUBLIC_WEB_URL`: the feed's URL starts with it (the web UI passes `/api/*` on); without
    /// it the answer is a path, which the web UI completes with its own address.
    let publicWebURL: String?

    init(accounts: any AccountStore, tasks: any TaskStore, authSecret: String, publicWebURL: String?) {
        self.accounts = accounts
        self.tasks = tasks
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(authSecret.utf8)), info: Data("todo calendar feed".utf8), outputByteCount: 32)
        self.publicWebURL = publicWebURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    struct FeedURL: ResponseEncodable {
        var url: String
    }

    func addRoutes(user: RouterGroup<Context>, public router: Router<Context>) {
        user.get("feed-url", use: feedURL)
        user.delete("feed-url", use: revoke)
        router.get("api/feed/:token", use: feed)
    }

    @Sendable func feedURL(_ request: Request, context: Context) async throws -> FeedURL {
        let userID = try context.requireUser()
        guard let generation = try await accounts.calendarFeedGeneration(userID: userID) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return FeedURL(url: (publicWebURL ?? "") + "/api/feed/" + token(userID: userID, generation: generation) + ".ics")
    }

    @Sendable func revoke(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        guard try await accounts.revokeCalendarFeed(userID: try context.requireUser()) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return .noContent
    }

    /// Any token that is not the account's current one, and a disabled account's, is 404: the
    /// answer tells a guesser nothing.
    @Sendable func feed(_ request: Request, context: Context) async throws -> Response {
        let notFound = APIError(.notFound, code: "not_found", message: "no such calendar feed")
        guard let text = context.parameters.get("token"), text.hasSuffix(".ics") else { throw notFound }
        let parts = text.dropLast(4).split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let mac = Data(base64URLEncoded: String(parts[1])), let user = try await accounts.user(id: String(parts[0])),
            let generation = try await accounts.calendarFeedGeneration(userID: user.id),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.message(user.id, generation), using: key)
        else { throw notFound }
        let now = Timestamp.now()
        let document = CalendarFeed.document(calendarName: "Todo: \(user.name ?? user.email)", tasks: try await openTasksDue(user.id, now: now), now: now)
        return Response(
            status: .ok,
            headers: [.contentType: "text/calendar; charset=utf-8", .cacheControl: "private, max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }

    /// The open tasks with a due date from a year ago on, soonest first, up to the feed's limit.
    private func openTasksDue(_ userID: UserID, now: Timestamp) async throws -> [TodoTask] {
        var query = TaskQuery()
        query.status = .pending
        query.dueAfter = now.adding(milliseconds: -365 * 86_400_000)
        query.sort = TaskQuery.Sort(field: .due, descending: false)
        query.limit = TaskQuery.maximumLimit
        var found: [TodoTask] = []
        repeat {
            let page = try await tasks.listTasks(userID: userID, query: query)
            found += page.items
            query.cursor = page.nextCursor
        } while query.cursor != nil && found.count < CalendarFeed.taskLimit
        return Array(found.prefix(CalendarFeed.taskLimit))
    }

    func token(userID: UserID, generation: Int) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Self.message(userID, generation), using: key)
        return userID + "." + Data(mac).base64URLEncodedString()
    }

    private static func message(_ userID: UserID, _ generation: Int) -> Data {
        Data("\(userID)\u{0}\(generation)".utf8)
    }
}
