import Foundation
import Testing
import TodoTestSupport
import TodoClient
import TodoCore

/// Sign-up, log-in, the current account and personal tokens, over HTTP to the real backend.
@Suite struct AccountCallTests {
    @Test func signUpReturnsASessionForTheNewAccountWithItsNormalizedEmailAndName() async throws {
        try await LiveBackend.run { backend in
            let session = try await backend.client.signUp(email: "  Ann@Example.COM", password: LiveBackend.password, name: "Ann")
            #expect(session.expiresAt > Timestamp.now())
            let user = try await backend.client.me(token: session.token)
            #expect(user.email == "ann@example.com")
            #expect(user.name == "Ann")
            #expect(!user.id.isEmpty)
        }
    }

    @Test func signUpWithoutANameLeavesItUnset() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            #expect(try await backend.client.me(token: token).name == nil)
        }
    }

    @Test func logInWithTheRightPasswordReturnsASessionForThatAccount() async throws {
        try await LiveBackend.run { backend in
            let (email, token) = try await backend.signUp()
            let session = try await backend.client.logIn(email: email.uppercased(), password: LiveBackend.password)
            let loggedIn = try await backend.client.me(token: session.token)
            let signedUp = try await backend.client.me(token: token)
            #expect(loggedIn == signedUp)
        }
    }

    @Test func logInWithAWrongPasswordThrowsUnauthorizedWithTheBackendsExplanation() async throws {
        try await LiveBackend.run { backend in
            let (email, _) = try await backend.signUp()
            let error = await clientError { try await backend.client.logIn(email: email, password: "not the password") }
            guard case .unauthorized(let problem)? = error else {
                Issue.record("expected unauthorized, got \(String(describing: error))")
                return
            }
            #expect(problem.code == "unauthorized")
            #expect(problem.message.contains("wrong e-mail or password"))
        }
    }

    @Test func aTokenTheBackendDidNotIssueThrowsUnauthorized() async throws {
        try await LiveBackend.run { backend in
            let error = await clientError { try await backend.client.me(token: "not-a-token") }
            #expect(error?.code == "unauthorized")
        }
    }

    @Test func signingUpWithATakenEmailThrowsConflictWithTheCodeEmailTaken() async throws {
        try await LiveBackend.run { backend in
            let (email, _) = try await backend.signUp()
            let error = await clientError {
                try await backend.client.signUp(email: email.uppercased(), password: "another password", name: nil)
            }
            guard case .conflict(let problem)? = error else {
                Issue.record("expected conflict, got \(String(describing: error))")
                return
            }
            #expect(problem.code == "email_taken")
        }
    }

    @Test func anInvalidSignUpThrowsValidationNamingEveryBadField() async throws {
        try await LiveBackend.run { backend in
            let error = await clientError { try await backend.client.signUp(email: "not-an-email", password: "short", name: nil) }
            #expect(error?.fields == ["email", "password"])
            guard case .validation(let issues, let message)? = error else { return }
            #expect(issues.allSatisfy { !$0.message.isEmpty })
            #expect(message.contains("email") && message.contains("password"))
        }
    }

    @Test func repeatedFailedLogInsThrowRateLimitedWithTheBackendsRetryAfter() async throws {
        try await LiveBackend.run(configure: { $0.loginAttemptLimit = 2 }) { backend in
            let (email, _) = try await backend.signUp()
            for _ in 0..<2 {
                #expect(await clientError { try await backend.client.logIn(email: email, password: "wrong password") }?.code == "unauthorized")
            }
            let error = await clientError { try await backend.client.logIn(email: email, password: "wrong password") }
            guard case .rateLimited(let retryAfter)? = error else {
                Issue.record("expected rateLimited, got \(String(describing: error))")
                return
            }
            let wait = try #require(retryAfter)
            #expect(wait > .zero && wait <= .seconds(900))
            // The right password waits too: attempts are counted before the password is checked.
            let right = await clientError { try await backend.client.logIn(email: email, password: LiveBackend.password) }
            guard case .rateLimited? = right else {
                Issue.record("expected rateLimited, got \(String(describing: right))")
                return
            }
        }
    }

    @Test func logInThrottlingCountsTheAddressTheCallerForwards() async throws {
        // One failure per account is allowed, five per client address.
        try await LiveBackend.run(configure: { $0.loginAttemptLimit = 1 }) { backend in
            var emails: [String] = []
            for _ in 0..<7 { emails.append(try await backend.signUp().email) }
            let crowded = "203.0.113.7"
            for email in emails.prefix(5) {
                let error = await clientError { try await backend.client.logIn(email: email, password: "wrong password", for: .init(forwardedFor: crowded, userAgent: nil)) }
                #expect(error?.code == "unauthorized")
            }
            let sixth = await clientError { try await backend.client.logIn(email: emails[5], password: "wrong password", for: .init(forwardedFor: crowded, userAgent: nil)) }
            guard case .rateLimited? = sixth else {
                Issue.record("expected the address limit, got \(String(describing: sixth))")
                return
            }
            let elsewhere = await clientError {
                try await backend.client.logIn(email: emails[6], password: "wrong password", for: .init(forwardedFor: "198.51.100.9", userAgent: nil))
            }
            #expect(elsewhere?.code == "unauthorized")
        }
    }

    // MARK: Personal tokens

    @Test func aPersonalTokenIsListedWithoutItsSecretActsAsItsOwnerAndStopsWorkingWhenRevoked() async throws {
        try await LiveBackend.run { backend in
            let (email, session) = try await backend.signUp()
            let expiresAt = Timestamp.inSeconds(30 * 86_400)
            let created = try await backend.client.createToken(token: session, name: "  laptop script ", expiresAt: expiresAt)
            #expect(created.name == "laptop script")
            #expect(!created.token.isEmpty && created.token != session)

            let listed = try await backend.client.listTokens(token: session)
            #expect(listed.map(\.name) == ["laptop script"])
            #expect(listed.first?.expiresAt == expiresAt)
            #expect(listed.first?.lastUsedAt == nil)

            #expect(try await backend.client.me(token: created.token).email == email)
            #expect(try await backend.client.listTokens(token: session).first?.lastUsedAt != nil)

            try await backend.client.revokeToken(token: session, id: try #require(listed.first?.id))
            #expect(try await backend.client.listTokens(token: session).isEmpty)
            #expect(await clientError { try await backend.client.me(token: created.token) }?.code == "unauthorized")
        }
    }

    @Test func aPersonalTokenCannotManageTokensAndGetsForbidden() async throws {
        try await LiveBackend.run { backend in
            let (_, session) = try await backend.signUp()
            let personal = try await backend.client.createToken(token: session, name: "script").token
            let error = await clientError { try await backend.client.createToken(token: personal, name: "another") }
            guard case .forbidden(let problem)? = error else {
                Issue.record("expected forbidden, got \(String(describing: error))")
                return
            }
            #expect(problem.message.contains("log in"))
        }
    }

    @Test func revokingATokenThatDoesNotExistThrowsNotFound() async throws {
        try await LiveBackend.run { backend in
            let (_, session) = try await backend.signUp()
            #expect(await clientError { try await backend.client.revokeToken(token: session, id: UUID().uuidString) } == .notFound)
            // An id with characters that need escaping stays one path segment.
            #expect(await clientError { try await backend.client.revokeToken(token: session, id: "../tokens?x=1") } == .notFound)
        }
    }

    @Test func aTokenExpiringInThePastThrowsValidationNamingExpiresAt() async throws {
        try await LiveBackend.run { backend in
            let (_, session) = try await backend.signUp()
            let error = await clientError {
                try await backend.client.createToken(token: session, name: "old", expiresAt: Timestamp.inSeconds(-60))
            }
            #expect(error?.fields == ["expires_at"])
        }
    }
}

/// The e-mail notification settings, over HTTP to the real backend (which sends no mail here).
@Suite struct NotificationSettingsCallTests {
    @Test func settingsReadAsOffAndTurningMailOnWithoutAMailServerIsAConflict() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let first = try await backend.client.notificationSettings(token: token)
            #expect(first.settings == NotificationSettings() && first.mailEnabled == false)
            let changed = try await backend.client.updateNotificationSettings(token: token, digestTime: "06:45", timeZone: "America/Denver")
            #expect(changed == NotificationSettings(digestTime: DigestTime("06:45")!, timeZone: "America/Denver"))
            let error = await clientError { try await backend.client.updateNotificationSettings(token: token, emailReminders: true) }
            guard case .conflict(let problem)? = error else { Issue.record("expected 409, got \(String(describing: error))"); return }
            #expect(problem.code == "mail_disabled")
            let invalid = await clientError { try await backend.client.updateNotificationSettings(token: token, timeZone: "Nowhere/Special") }
            guard case .validation(let issues, _)? = invalid else { Issue.record("expected 422, got \(String(describing: invalid))"); return }
            #expect(issues.map(\.field) == ["time_zone"])
            #expect(try await backend.client.notificationSettings(token: token).settings == changed)
        }
    }
}
