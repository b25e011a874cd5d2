import Foundation
import HTTPTypes
import Testing
import TodoServer
@testable import TodoAPI

/// The log-in and sign-up throttles as a client meets them. `.router` requests have no peer
/// address (only the per-account and overall limits apply); `.live` ones come from localhost,
/// which is a trusted proxy unless the test's configuration says otherwise.
@Suite struct ThrottleTests {
    static func logIn(_ email: String, _ password: String) -> String {
        #"{"email": "\#(email)", "password": "\#(password)"}"#
    }

    static func forwardedFor(_ address: String) -> HTTPFields {
        [.xForwardedFor: address]
    }

    /// Sends `count` requests at once; the statuses, in no particular order.
    static func burst(
        _ api: APIHarness, _ count: Int, _ send: @escaping @Sendable (APIHarness) async throws -> APIHarness.Reply
    ) async throws -> [HTTPResponse.Status] {
        try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
            for _ in 0..<count { group.addTask { try await send(api).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    // Item 3: attempts are counted before the password is checked.

    /// Counting only finished failures let a burst of parallel guesses all reach bcrypt before
    /// the first was counted: 30 guesses, 30 checked. Counted first, at most `limit` are.
    @Test func aBurstOfParallelWrongPasswordsChecksAtMostTheLimit() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 10 }) { api in
            _ = try await api.signUp("ann@example.com", password: "right password")
            let statuses = try await Self.burst(api, 30) {
                try await $0.request(.post, "/api/auth/login", body: Self.logIn("ann@example.com", "wrong guess"))
            }
            let checked = statuses.filter { $0 == .unauthorized }.count
            let refused = statuses.filter { $0 == .tooManyRequests }.count
            #expect(checked >= 1 && checked <= 10, "\(checked) of 30 parallel guesses were checked")
            #expect(checked + refused == 30, "\(statuses)")
            // The burst used up the account's budget: the right password waits too.
            let right = try await api.request(.post, "/api/auth/login", body: Self.logIn("ann@example.com", "right password"))
            #expect(right.status == .tooManyRequests)
            #expect(right.errorCode == "too_many_attempts")
            #expect((1...900).contains(Int(right.headers[.retryAfter] ?? "") ?? 0))
        }
    }

    /// At most two checks of one account's password run at once in a process; the others are
    /// told to retry. Correct log-ins in parallel (several tabs, a script) are never all refused,
    /// never answered 401, and do not use up the account's budget.
    @Test func parallelCorrectLogInsAreNotAllRefused() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 10 }) { api in
            _ = try await api.signUp("ann@example.com", password: "right password")
            for _ in 0..<3 {
                let statuses = try await Self.burst(api, 8) {
                    try await $0.request(.post, "/api/auth/login", body: Self.logIn("ann@example.com", "right password"))
                }
                #expect(statuses.contains(.ok), "\(statuses)")
                #expect(statuses.allSatisfy { $0 == .ok || $0 == .tooManyRequests }, "\(statuses)")
            }
            let again = try await api.request(.post, "/api/auth/login", body: Self.logIn("ann@example.com", "right password"))
            #expect(again.status == .ok)
        }
    }

    /// A success clears the account's count: the owner's own typos do not add up across log-ins.
    @Test func aSuccessfulLogInClearsTheAccountsFailures() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 3 }) { api in
            _ = try await api.signUp("ann@example.com", password: "right password")
            for _ in 0..<4 {
                for _ in 0..<2 {
                    let typo = try await api.request(.post, "/api/auth/login", body: Self.logIn("ann@example.com", "rihgt password"))
                    #expect(typo.status == .unauthorized)
                }
                let right = try await api.request(.post, "/api/auth/login", body: Self.logIn("ann@example.com", "right password"))
                #expect(right.status == .ok)
            }
        }
    }

    // Item 1: a trusted proxy's address is not a client.

    /// Before, everything that came through a proxy counted against the proxy's address: the
    /// 50th failed log-in of anyone locked every user out. Localhost is a trusted proxy here.
    @Test func failedLogInsFromBehindAProxyDoNotLockOutItsOtherUsers() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 2 }, testing: .live) { api in
            _ = try await api.signUp("victim@example.com", password: "right password")
            // Ten times the per-address limit (2 x 5), each against its own account; no X-Forwarded-For:
            // the requests come from the proxy itself, whose address is never throttled.
            for attempt in 0..<100 {
                let wrong = try await api.request(.post, "/api/auth/login", body: Self.logIn("guess\(attempt)@example.com", "wrong"))
                #expect(wrong.status == .unauthorized)
            }
            let victim = try await api.request(.post, "/api/auth/login", body: Self.logIn("victim@example.com", "right password"))
            #expect(victim.status == .ok, "\(victim.text)")
        }
    }

    /// Behind two trusted proxies (an ingress, then the web UI, which appends its own peer: the
    /// ingress), the client is the right-most forwarded address that is not a proxy. Before, the
    /// last entry was taken, which is the ingress's: everyone behind it counted as one client.
    @Test func theClientBehindAChainOfTrustedProxiesIsThrottledAndNotItsNeighbours() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 2 }, testing: .live) { api in
            _ = try await api.signUp("victim@example.com", password: "right password")
            // What the web UI sends for a browser at 203.0.113.66 that forged a left entry.
            let attacker = Self.forwardedFor("198.51.100.66, 203.0.113.66, 127.0.0.1")
            for attempt in 0..<10 {
                let wrong = try await api.request(
                    .post, "/api/auth/login", body: Self.logIn("guess\(attempt)@example.com", "wrong"), headers: attacker)
                #expect(wrong.status == .unauthorized)
            }
            // The attacker's address is spent, even on a fresh account; another forged left entry changes nothing.
            let next = try await api.request(.post, "/api/auth/login", body: Self.logIn("fresh@example.com", "wrong"), headers: attacker)
            #expect(next.status == .tooManyRequests)
            let forged = try await api.request(
                .post, "/api/auth/login", body: Self.logIn("fresh@example.com", "wrong"),
                headers: Self.forwardedFor("198.51.100.99, 203.0.113.66, 127.0.0.1"))
            #expect(forged.status == .tooManyRequests)
            let victim = try await api.request(
                .post, "/api/auth/login", body: Self.logIn("victim@example.com", "right password"),
                headers: Self.forwardedFor("203.0.113.77, 127.0.0.1"))
            #expect(victim.status == .ok, "\(victim.text)")
        }
    }

    /// An address that has spent its budget cannot go on counting against accounts. Before, its
    /// refused attempts (cheap: no password check) still counted against the accounts they named,
    /// so one address could lock every account whose e-mail it knew.
    @Test func aSpentAddressCannotLockMoreAccounts() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 2 }, testing: .live) { api in
            _ = try await api.signUp("victim@example.com", password: "right password")
            let attacker = Self.forwardedFor("203.0.113.66")
            for attempt in 0..<10 {
                let wrong = try await api.request(
                    .post, "/api/auth/login", body: Self.logIn("guess\(attempt)@example.com", "wrong"), headers: attacker)
                #expect(wrong.status == .unauthorized)
            }
            for _ in 0..<5 {
                let refused = try await api.request(
                    .post, "/api/auth/login", body: Self.logIn("victim@example.com", "wrong"), headers: attacker)
                #expect(refused.status == .tooManyRequests)
            }
            let victim = try await api.request(
                .post, "/api/auth/login", body: Self.logIn("victim@example.com", "right password"),
                headers: Self.forwardedFor("203.0.113.77"))
            #expect(victim.status == .ok, "\(victim.text)")
        }
    }

    /// A peer that is not a trusted proxy is the client, whatever its X-Forwarded-For says:
    /// rotating forged addresses does not buy more guesses.
    @Test func forwardedForFromAnUntrustedPeerIsIgnored() async throws {
        try await APIHarness.run(
            configure: {
                $0.loginAttemptLimit = 2
                $0.trustedProxies = try! TrustedProxies(parsing: "10.0.0.0/8")
            }, testing: .live
        ) { api in
            for attempt in 0..<10 {
                let wrong = try await api.request(
                    .post, "/api/auth/login", body: Self.logIn("guess\(attempt)@example.com", "wrong"),
                    headers: Self.forwardedFor("198.51.100.\(attempt)"))
                #expect(wrong.status == .unauthorized)
            }
            let next = try await api.request(
                .post, "/api/auth/login", body: Self.logIn("fresh@example.com", "wrong"), headers: Self.forwardedFor("198.51.100.200"))
            #expect(next.status == .tooManyRequests)
            #expect(next.errorCode == "too_many_attempts")
        }
    }

    // Item 5: sign-ups.

    @Test func signUpsAreLimitedPerClientAddress() async throws {
        try await APIHarness.run(
            configure: {
                $0.signUpAddressLimit = 3
                $0.trustedProxies = TrustedProxies([])  // localhost is the client
            }, testing: .live
        ) { api in
            for _ in 0..<3 { _ = try await api.signUp() }
            let refused = try await api.request(
                .post, "/api/auth/signup", body: #"{"email": "one-more@example.com", "password": "long enough"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorCode == "too_many_attempts")
            // The window is an hour.
            #expect((3000...3600).contains(Int(refused.headers[.retryAfter] ?? "") ?? 0), "\(refused.headers)")
            #expect(try await api.storage.accounts.credentials(email: "one-more@example.com") == nil)
        }
    }

    @Test func signUpsAreLimitedPerForwardedClientBehindATrustedProxy() async throws {
        try await APIHarness.run(configure: { $0.signUpAddressLimit = 2 }, testing: .live) { api in
            let expected: [(String, HTTPResponse.Status)] = [
                ("203.0.113.1", .created), ("203.0.113.1", .created), ("203.0.113.1", .tooManyRequests), ("203.0.113.2", .created),
            ]
            for (address, status) in expected {
                let reply = try await api.request(
                    .post, "/api/auth/signup", body: #"{"email": "u-\#(UUID().uuidString.prefix(8))@example.com", "password": "long enough"}"#,
                    headers: Self.forwardedFor(address))
                #expect(reply.status == status, "\(address)")
            }
        }
    }

    @Test func signUpsAreLimitedOverallFromEveryAddressTogether() async throws {
        try await APIHarness.run(configure: { $0.signUpLimit = 4 }, testing: .live) { api in
            for client in 1...4 {
                let reply = try await api.request(
                    .post, "/api/auth/signup", body: #"{"email": "u\#(client)@example.com", "password": "long enough"}"#,
                    headers: Self.forwardedFor("203.0.113.\(client)"))
                #expect(reply.status == .created)
            }
            let fifth = try await api.request(
                .post, "/api/auth/signup", body: #"{"email": "u5@example.com", "password": "long enough"}"#,
                headers: Self.forwardedFor("203.0.113.5"))
            #expect(fifth.status == .tooManyRequests)
            #expect((1...60).contains(Int(fifth.headers[.retryAfter] ?? "") ?? 0), "\(fifth.headers)")
            // Log-ins are not sign-ups: they go on.
            let logIn = try await api.request(.post, "/api/auth/login", body: Self.logIn("u1@example.com", "long enough"))
            #expect(logIn.status == .ok)
        }
    }

    /// Invalid sign-ups are answered 422 without being counted: a typo in a form is not an attempt.
    @Test func invalidSignUpsDoNotCountAgainstTheLimits() async throws {
        try await APIHarness.run(configure: { $0.signUpLimit = 2; $0.signUpAddressLimit = 2 }) { api in
            for _ in 0..<5 {
                let invalid = try await api.request(.post, "/api/auth/signup", body: #"{"email": "not-an-email", "password": "long enough"}"#)
                #expect(invalid.status == .unprocessableContent)
            }
            for _ in 0..<2 { _ = try await api.signUp() }
        }
    }
}
