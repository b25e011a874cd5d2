import Foundation
import Testing
import TodoCore
import TodoServer
import TodoStore

@testable import TodoAPI

/// The parts of webhook delivery that need no receiver: the signature, the retry schedule and
/// the address policy. Delivery itself: tests/e2e/test_webhooks.py.
@Suite struct WebhookDeliveryTests {
    /// The example of the Standard Webhooks specification, checked against its Python library.
    @Test func theSignatureIsTheOneStandardWebhooksLibrariesExpect() {
        let signature = WebhookSignature.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                                              body: Array(#"{"test": 2432232314}"#.utf8), secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func aNewSecretIsTwentyFourRandomBytesBehindThePrefix() throws {
        let secret = WebhookSignature.newSecret()
        #expect(secret.hasPrefix("whsec_"))
        #expect(try #require(Data(base64Encoded: String(secret.dropFirst(6)))).count == 24)
        #expect(secret != WebhookSignature.newSecret())
    }

    static func delivery(attempt: Int, eventTime: Timestamp) -> DueWebhookDelivery {
        DueWebhookDelivery(webhookID: "w", url: "https://hooks.example", secret: "whsec_eA==", eventID: 1, type: .taskCreated, userID: "u",
                           taskID: 1, eventTime: eventTime, attempt: attempt)
    }

    @Test func failuresAreRetriedDoublingToAnHourForADay() {
        let start = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        #expect(WebhookRetry.outcome(after: Self.delivery(attempt: 0, eventTime: start), status: 204, retryAfterSeconds: nil, at: start)
                == .delivered(at: start))
        for (attempt, pause) in [(0, 1000), (1, 2000), (5, 32_000), (12, 3_600_000), (40, 3_600_000)] as [(Int, Int64)] {
            #expect(WebhookRetry.outcome(after: Self.delivery(attempt: attempt, eventTime: start), status: 500, retryAfterSeconds: nil, at: start)
                    == .retry(at: start.adding(milliseconds: pause)), "attempt \(attempt)")
        }
        #expect(WebhookRetry.outcome(after: Self.delivery(attempt: 0, eventTime: start), status: 429, retryAfterSeconds: 120, at: start)
                == .retry(at: start.adding(milliseconds: 120_000)), "Retry-After is honoured")
        #expect(WebhookRetry.outcome(after: Self.delivery(attempt: 0, eventTime: start), status: nil, retryAfterSeconds: 86_400 * 7, at: start)
                == .retry(at: start.adding(milliseconds: 3_600_000)), "within the hour's cap")
        #expect(WebhookRetry.outcome(after: Self.delivery(attempt: 0, eventTime: start), status: 410, retryAfterSeconds: nil, at: start) == .abandoned)
        let aDayLater = start.adding(milliseconds: 24 * 3_600_000 - 500)
        #expect(WebhookRetry.outcome(after: Self.delivery(attempt: 30, eventTime: start), status: 502, retryAfterSeconds: nil, at: aDayLater)
                == .abandoned, "given up a day after the event")
    }

    @Test func specialAddressesAreRefusedUnlessTheOperatorAllowsThem() async throws {
        let policy = OutboundAddressPolicy()
        for url in ["http://127.0.0.1/", "http://127.9.9.9:8080/x", "http://[::1]/", "http://10.0.0.1/", "http://172.20.0.1/", "http://192.168.1.1/",
                    "http://169.254.169.254/", "http://[fe80::1]/", "http://[fd00::1]/", "http://0.0.0.0/", "http://100.64.0.1/",
                    "http://[::ffff:10.0.0.1]/", "http://224.0.0.1/", "http://localhost/"] {
            await #expect(throws: OutboundAddressPolicy.Refusal.self, "\(url)") { try await policy.check(url) }
        }
        for url in ["ftp://198.51.100.1/", "mailto:a@example.com", "/hook", "http://user:pw@198.51.100.1/", "http:///nohost"] {
            await #expect(throws: OutboundAddressPolicy.Refusal.notHTTP, "\(url)") { try await policy.check(url) }
        }
        #expect(try await policy.check("https://198.51.100.7:8443/hook") == "198.51.100.7")
        _ = try await policy.check("http://[2001:db8::1]/hook")  // a public IPv6 literal passes
        let allowing = OutboundAddressPolicy(allowed: [IPNetwork("10.20.0.0/16")!, IPNetwork("127.0.0.1")!])
        #expect(try await allowing.check("http://10.20.3.4/hook") == "10.20.3.4")
        #expect(try await allowing.check("http://127.0.0.1:9000/hook") == "127.0.0.1")
        await #expect(throws: OutboundAddressPolicy.Refusal.self) { try await allowing.check("http://10.21.0.1/hook") }
    }
}
