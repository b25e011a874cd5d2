import Foundation
import HTTPTypes
import Testing
@testable import TodoAPI
import TodoCore

/// The read-only calendar feed: a secret URL, revocable, that lists open tasks with due dates.
@Suite struct CalendarFeedTests {
    private func feedURL(_ api: APIHarness, _ token: String, _ userID: String) async throws -> String {
        let reply = try await api.request(.get, "/api/\(userID)/feed-url", token: token)
        #expect(reply.status == .ok)
        return try #require(reply.object["url"] as? String)
    }

    @Test func theFeedListsOpenTasksWithDueDatesWithoutSigningIn() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp("ann@example.com")
            _ = try await api.createTask(token, #"{"title": "Pay rent", "due_at": "2030-01-05T09:00:00Z", "priority": "high"}"#)
            _ = try await api.createTask(token, #"{"title": "No date"}"#)
            let url = try await feedURL(api, token, userID)
            #expect(url.hasPrefix("/api/feed/\(userID).") && url.hasSuffix(".ics"), "a path: no PUBLIC_WEB_URL here")
            let feed = try await api.request(.get, url)
            #expect(feed.status == .ok && feed.headers[.contentType] == "text/calendar; charset=utf-8")
            #expect(feed.text.contains("SUMMARY:Pay rent\r\n") && feed.text.contains("DTSTART:20300105T090000Z\r\n"))
            #expect(!feed.text.contains("No date"))
            #expect(try await feedURL(api, token, userID) == url, "the same URL until it is revoked")
        }
    }

    @Test func revokingGivesANewURLAndTheOldOneStopsWorking() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp("ann@example.com")
            let old = try await feedURL(api, token, userID)
            #expect(try await api.request(.delete, "/api/\(userID)/feed-url", token: token).status == .noContent)
            let gone = try await api.request(.get, old)
            #expect(gone.status == .notFound && gone.errorCode == "not_found")
            let new = try await feedURL(api, token, userID)
            #expect(new != old)
            #expect(try await api.request(.get, new).status == .ok)
        }
    }

    @Test func aForgedOrBorrowedTokenIsNotFound() async throws {
        try await APIHarness.run { api in
            let (annToken, annID) = try await api.signUp("ann@example.com")
            let (_, bobID) = try await api.signUp("bob@example.com")
            let ann = try await feedURL(api, annToken, annID)
            let mac = ann.dropFirst("/api/feed/\(annID).".count).dropLast(4)
            for forged in ["/api/feed/\(bobID).\(mac).ics", "/api/feed/\(annID).AAAA.ics", "/api/feed/\(annID).ics", "/api/feed/\(annID).\(mac)",
                           "/api/feed/nobody.\(mac).ics"] {
                #expect(try await api.request(.get, forged).status == .notFound, "\(forged)")
            }
            #expect(try await api.request(.get, "/api/\(bobID)/feed-url", token: annToken).status == .forbidden, "another user's path, as everywhere")
            #expect(try await api.request(.get, "/api/\(annID)/feed-url").status == .unauthorized)
        }
    }

    @Test func aDisabledAccountsFeedIsNotFound() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp("ann@example.com")
            let url = try await feedURL(api, token, userID)
            #expect(try await api.storage.accounts.setDisabled(true, userID: userID))
            #expect(try await api.request(.get, url).status == .notFound)
        }
    }

    @Test func withAPublicAddressTheURLIsAbsolute() async throws {
        try await APIHarness.run(configure: { $0.publicWebURL = "https://todo.example/" }) { api in
            let (token, userID) = try await api.signUp("ann@example.com")
            #expect(try await feedURL(api, token, userID).hasPrefix("https://todo.example/api/feed/\(userID)."))
        }
    }
}
