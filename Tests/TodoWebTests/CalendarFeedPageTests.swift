import Testing
import TodoCore

@testable import TodoWeb

@Suite struct CalendarFeedPageTests {
    private static let feedInput = #"id="calendar-feed-url" type="text" readonly value="([^"]+)""#

    @Test func settingsShowTheFeedsAddressWhichWorksThroughThisSiteUntilANewOneIsMade() async throws {
        try await WebHarness.run(web: { $0.publicURL = "https://todo.example" }) { web in
            let account = try await web.signedIn()
            let due = try #require(Timestamp(rfc3339: "2030-01-05T09:00:00Z"))
            _ = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Pay rent", dueAt: due))
            let settings = try await web.request(.get, "/settings", cookies: account.cookies)
            let address = try #require(settings.firstMatch(Self.feedInput))
            #expect(address.hasPrefix("https://todo.example/api/feed/") && address.hasSuffix(".ics"))
            let path = String(address.dropFirst("https://todo.example".count))
            let feed = try await web.request(.get, path)
            #expect(feed.status == .ok && feed.text.contains("SUMMARY:Pay rent"), "through the web UI's /api proxy, without a session")

            let renewed = try await web.request(.post, "/settings/calendar-feed/revoke", cookies: account.cookies, form: [("_csrf", account.csrf)])
            #expect(renewed.status == .ok && renewed.text.contains("new address"))
            #expect(try #require(renewed.firstMatch(Self.feedInput)) != address)
            #expect(try await web.request(.get, path).status == .notFound)
        }
    }
}
