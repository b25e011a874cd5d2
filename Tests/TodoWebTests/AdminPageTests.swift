import Testing

@testable import TodoWeb

@Suite struct AdminPageTests {
    @Test func anInvitationLinkStartsWithThePublicAddressBehindAProxy() async throws {
        try await WebHarness.run(backend: { $0.firstAccountIsAdmin = true }, web: { $0.publicURL = "https://todo.example/" }) { web in
            let admin = try await web.signedIn()
            let reply = try await web.request(
                .post, "/admin/invitations", cookies: admin.cookies, form: [("_csrf", admin.csrf), ("email", "guest@example.com")])
            #expect(reply.status == .created)
            let link = try #require(reply.firstMatch(#"id="invitation-link" type="text" readonly value="([^"]+)""#))
            #expect(link.hasPrefix("https://todo.example/signup?invite="), "PUBLIC_WEB_URL, not the address the proxy forwarded to")
        }
    }
}
