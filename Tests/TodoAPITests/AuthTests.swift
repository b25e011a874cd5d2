import Foundation
import HTTPTypes
import HummingbirdBcrypt
import JWTKit
import Testing
@testable import TodoAPI

@Suite struct AuthTests {
    @Test func signUpReturnsTokenAndUser() async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.post, "/api/auth/signup", body: #"{"email": " Ann@Example.com", "password": "long enough", "name": "Ann"}"#)
            #expect(reply.status == .created)
            let user = try #require(reply.object["user"] as? [String: Any])
            #expect(user["email"] as? String == "ann@example.com")
            #expect(user["name"] as? String == "Ann")
            #expect(user["password_hash"] == nil)
            #expect(reply.object["token_type"] as? String == "Bearer")
            let me = try await api.request(.get, "/api/auth/me", token: reply.object["token"] as? String)
            #expect(me.status == .ok)
            #expect(me.object["id"] as? String == user["id"] as? String)
        }
    }

    @Test func takenEmailGets409() async throws {
        try await APIHarness.run { api in
            _ = try await api.signUp("ann@example.com")
            let again = try await api.request(.post, "/api/auth/signup", body: #"{"email": "ANN@example.com", "password": "another one"}"#)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "email_taken")
        }
    }

    @Test(arguments: [
        (#"{"email": "not-an-email", "password": "long enough"}"#, ["email"]),
        (#"{"email": "a@b.co", "password": "short"}"#, ["password"]),
        (#"{"email": "a@b.co"}"#, ["password"]),
        (#"{"email": 1, "password": "long enough"}"#, ["email"]),
        (#"{"email": "a@b.co", "password": "long enough", "admin": true}"#, ["admin"]),
        (#"{"email": "a@b.co", "password": "long enough", "name": "x\u0000"}"#, ["name"]),
    ])
    func invalidSignUpIsRejected(_ body: String, _ fields: [String]) async throws {
        try await APIHarness.run { api in
            let reply = try await api.request(.post, "/api/auth/signup", body: body)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == fields)
        }
    }

    @Test func logInWorksWithTheRightPasswordOnly() async throws {
        try await APIHarness.run { api in
            _ = try await api.signUp("ann@example.com", password: "right password")
            let good = try await api.request(.post, "/api/auth/login", body: #"{"email": "Ann@example.com", "password": "right password"}"#)
            #expect(good.status == .ok)
            #expect(good.object["token"] is String)
            let wrong = try await api.request(.post, "/api/auth/login", body: #"{"email": "ann@example.com", "password": "wrong password"}"#)
            let unknown = try await api.request(.post, "/api/auth/login", body: #"{"email": "bob@example.com", "password": "wrong password"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == .unauthorized)
            // Same answer whether or not the account exists.
            #expect(wrong.text == unknown.text)
        }
    }

    @Test func missingOrMalformedAuthorizationGets401() async throws {
        try await APIHarness.run { api in
            for header in [nil, "Basic abc", "Bearer", "Bearer ", "token abc"] as [String?] {
                var headers: HTTPFields = [:]
                if let header { headers[.authorization] = header }
                let reply = try await api.request(.get, "/api/me/tasks", headers: headers)
                #expect(reply.status == .unauthorized, "\(header ?? "none")")
                #expect(reply.headers[.wwwAuthenticate] == "Bearer")
                #expect(reply.errorCode == "unauthorized")
            }
        }
    }

    @Test func forgedTokensGet401() async throws {
        try await APIHarness.run { api in
            let (token, userID) = try await api.signUp()
            let parts = token.split(separator: ".").map(String.init)
            let header = #"{"alg":"none","typ":"JWT"}"#
            let payload = String(decoding: base64URLDecode(parts[1]), as: UTF8.self)
            let algNone = base64URLEncode(Data(header.utf8)) + "." + parts[1] + "."
            let otherUser = payload.replacingOccurrences(of: userID, with: "00000000-0000-0000-0000-000000000000")
            let tampered = parts[0] + "." + base64URLEncode(Data(otherUser.utf8)) + "." + parts[2]
            // The same live session, so that only what is wrong with each token refuses it.
            let session = try #require(await AccessTokens(secret: testSecret, lifetime: .seconds(60)).verify(token)).sessionID
            let wrongKey = try await AccessTokens(secret: String(repeating: "k", count: 40), lifetime: .seconds(60))
                .issue(for: userID, session: session).token
            let expired = try await AccessTokens(secret: testSecret, lifetime: .seconds(60))
                .issue(for: userID, session: session, at: Date().addingTimeInterval(-3600)).token
            let notYetValid = try await AccessTokens(secret: testSecret, lifetime: .seconds(7200))
                .issue(for: userID, session: session, at: Date().addingTimeInterval(3600)).token
            let otherSession = try await AccessTokens(secret: testSecret, lifetime: .seconds(60))
                .issue(for: userID, session: UUID().uuidString.lowercased()).token
            let otherUsersSession = try await AccessTokens(secret: testSecret, lifetime: .seconds(60))
                .issue(for: "00000000-0000-0000-0000-000000000000", session: session).token
            // Signed with the right key but naming no session, as tokens issued before sessions were.
            let sessionless = try await Self.sessionlessToken(userID: userID)
            for forged in [algNone, tampered, wrongKey, expired, notYetValid, otherSession, otherUsersSession, sessionless, "garbage", token + "x"] {
                let reply = try await api.request(.get, "/api/me/tasks", token: forged)
                #expect(reply.status == .unauthorized, "\(forged)")
            }
            #expect(try await api.request(.get, "/api/me/tasks", token: token).status == .ok)
        }
    }

    static func sessionlessToken(userID: String) async throws -> String {
        struct OldClaims: JWTPayload {
            var sub: SubjectClaim
            var iat: IssuedAtClaim
            var nbf: NotBeforeClaim
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: testSecret), digestAlgorithm: .sha256)
        let now = Date()
        return try await keys.sign(OldClaims(sub: .init(value: userID), iat: .init(value: now), nbf: .init(value: now.addingTimeInterval(-1)),
                                             exp: .init(value: now.addingTimeInterval(3600))))
    }
}




func base64URLEncode(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

func base64URLDecode(_ text: String) -> Data {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    return Data(base64Encoded: base64) ?? Data()
}

@Suite struct LoginThrottleTests {
    @Test func repeatedFailuresGet429WithRetryAfterForThatAccountOnly() async throws {
        try await APIHarness.run(configure: { $0.loginAttemptLimit = 3 }) { api in
            _ = try await api.signUp("ann@example.com", password: "right password")
            _ = try await api.signUp("bob@example.com", password: "right password")
            for _ in 0..<3 {
                let wrong = try await api.request(.post, "/api/auth/login", body: #"{"email": "ann@example.com", "password": "guess"}"#)
                #expect(wrong.status == .unauthorized)
            }
            let blocked = try await api.request(.post, "/api/auth/login", body: #"{"email": "ann@example.com", "password": "right password"}"#)
            #expect(blocked.status == .tooManyRequests)
            #expect(blocked.errorCode == "too_many_attempts")
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 > 0)
            let other = try await api.request(.post, "/api/auth/login", body: #"{"email": "bob@example.com", "password": "right password"}"#)
            #expect(other.status == .ok)
        }
    }
}

@Suite struct PasswordHasherTests {
    @Test func onlyTheRightPasswordMatchesAndNoPasswordMatchesAnUnknownAccount() async throws {
        let hasher = PasswordHasher(cost: 4)
        let real = try await hasher.hash("right password")
        #expect(try await hasher.verify("right password", against: real))
        #expect(try await !hasher.verify("wrong password", against: real))
        #expect(try await !hasher.verify("right password", against: nil))
        #expect(try await !hasher.verify("decoy password that matches nothing", against: nil))
    }

    /// The decoy is built without paying its cost at start-up; checking against it must still
    /// cost what checking a real hash costs, or a log-in's duration tells whether an e-mail
    /// exists. Measured in this thread's CPU time, which tests running alongside do not skew.
    @Test func checkingTheDecoyCostsWhatCheckingARealHashCosts() {
        let cost: UInt8 = 9
        let decoy = PasswordHasher.decoy(cost: cost)
        #expect(decoy.hasPrefix("$2b$09$") && decoy.count == 60)
        let real = Bcrypt.hash("right password", cost: cost)

        func cpuSeconds(checking hash: String) -> Double {
            var start = timespec(), end = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
            _ = Bcrypt.verify("wrong password", hash: hash)
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
            return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
        }
        let ratios = (0..<5).map { _ in cpuSeconds(checking: decoy) / cpuSeconds(checking: real) }.sorted()
        // A decoy one cost step cheaper would take half as long; the cheapest (4) 1/32.
        #expect((0.8...1.25).contains(ratios[2]), "decoy / real hash: \(ratios)")
    }
}
