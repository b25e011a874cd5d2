import Crypto
import Foundation
import Testing
import TodoCore
import TodoServer
import TodoStore

@testable import TodoAPI

/// The parts of Web Push that need no push service: message encryption (RFC 8291's own
/// example), the VAPID token, the retry rules and where endpoints may point. Delivery itself:
/// tests/e2e/test_push.py.
@Suite struct WebPushTests {
    static func bytes(_ base64URL: String) -> [UInt8] { Array(Data(base64URLEncoded: base64URL)!) }

    /// RFC 8291, Appendix A: the same keys and salt give the same message, byte for byte.
    @Test func encryptionGivesTheRFCsWorkedExample() throws {
        let sender = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.bytes("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
        let body = try WebPushEncryption.encrypt(
            Array("When I grow up, I want to be a watermelon".utf8),
            p256dh: Self.bytes("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            auth: Self.bytes("BTBZMqHH6r4Tts7J_aSIgg"), senderKey: sender, salt: Self.bytes("DGv6ra1nlYgDCS1FRnbzlw"))
        let expected = """
            DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT\
            pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN
            """
        #expect(Data(body).base64URLEncodedString() == expected)
    }

    @Test func messagesThatCannotBeEncryptedAreRefused() {
        let keys = (Self.bytes("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"), Self.bytes("BTBZMqHH6r4Tts7J_aSIgg"))
        #expect(throws: WebPushEncryption.PayloadTooLarge.self) {
            try WebPushEncryption.encrypt([UInt8](repeating: 65, count: 3994), p256dh: keys.0, auth: keys.1)
        }
        #expect(throws: WebPushEncryption.InvalidSubscriptionKeys.self) { try WebPushEncryption.encrypt([1], p256dh: [4, 1, 2], auth: keys.1) }
        #expect(WebPushEncryption.validKeys(p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "BTBZMqHH6r4Tts7J_aSIgg"))
        #expect(!WebPushEncryption.validKeys(p256dh: "BCVx", auth: "BTBZMqHH6r4Tts7J_aSIgg"))
        #expect(!WebPushEncryption.validKeys(p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", auth: "c2hvcnQ"))
    }

    /// The token verifies with the public key sent beside it, and names the push service's origin.
    @Test func theVAPIDTokenVerifiesWithTheKeyItCarries() throws {
        let key = try VAPIDKey(VAPIDKey.newPrivateKey(), subject: "mailto:ops@example.com")
        let now = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        let header = try key.authorization(for: URL(string: "https://push.example:8443/send/abc?x=1")!, at: now)
        let parts = header.split(separator: " ").map(String.init)
        #expect(parts.count == 3 && parts[0] == "vapid" && parts[1].hasPrefix("t=") && parts[1].hasSuffix(",") && parts[2] == "k=\(key.publicKey)")
        let token = String(parts[1].dropFirst(2).dropLast())
        let pieces = token.split(separator: ".").map(String.init)
        #expect(pieces.count == 3)
        let publicKey = try P256.Signing.PublicKey(x963Representation: Self.bytes(key.publicKey))
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: Self.bytes(pieces[2]))
        #expect(publicKey.isValidSignature(signature, for: Data((pieces[0] + "." + pieces[1]).utf8)))
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(Self.bytes(pieces[1]))) as? [String: Any])
        #expect(claims["aud"] as? String == "https://push.example:8443" && claims["sub"] as? String == "mailto:ops@example.com")
        let expiry = try #require(claims["exp"] as? Int)
        #expect(expiry > 1_700_000_000 && expiry <= 1_700_000_000 + 86_400, "at most a day ahead (RFC 8292)")
        let headerFields = try JSONSerialization.jsonObject(with: Data(Self.bytes(pieces[0]))) as? [String: String]
        #expect(headerFields == ["typ": "JWT", "alg": "ES256"])
        #expect(VAPIDKey.origin(of: URL(string: "https://fcm.googleapis.com:443/fcm/send/x")!) == "https://fcm.googleapis.com")
    }

    @Test func theKeyIsReadAsBase64URLOrPEMAndNothingElse() throws {
        let signing = P256.Signing.PrivateKey()
        let raw = try VAPIDKey(signing.rawRepresentation.base64URLEncodedString(), subject: "https://todo.example")
        let pem = try VAPIDKey(signing.pemRepresentation + "\n", subject: "mailto:a@example.com")
        #expect(raw.publicKey == pem.publicKey && Self.bytes(raw.publicKey).count == 65)
        #expect(throws: VAPIDKeyError.self) { try VAPIDKey("c2hvcnQ", subject: "mailto:a@example.com") }
        #expect(throws: VAPIDKeyError.self) { try VAPIDKey(VAPIDKey.newPrivateKey(), subject: "admin@example.com") }
    }

    static func delivery(attempt: Int, eventTime: Timestamp) -> DuePushDelivery {
        let subscription = PushSubscription(id: "s", userID: "u", endpoint: "https://push.example/x", p256dh: "p", auth: "a", createdAt: eventTime)
        return DuePushDelivery(subscription: subscription, eventID: 1, taskID: 1, eventTime: eventTime, attempt: attempt)
    }

    @Test func goneSubscriptionsAreDroppedAndBusyServicesRetried() {
        let start = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        let first = Self.delivery(attempt: 0, eventTime: start)
        #expect(PushRetry.outcome(after: first, status: 201, retryAfterSeconds: nil, at: start) == .delivered(at: start))
        #expect(PushRetry.outcome(after: first, status: 404, retryAfterSeconds: nil, at: start) == nil)
        #expect(PushRetry.outcome(after: first, status: 410, retryAfterSeconds: nil, at: start) == nil)
        #expect(PushRetry.outcome(after: first, status: 429, retryAfterSeconds: 30, at: start) == .retry(at: start.adding(milliseconds: 30_000)))
        #expect(PushRetry.outcome(after: Self.delivery(attempt: 3, eventTime: start), status: 503, retryAfterSeconds: nil, at: start)
                == .retry(at: start.adding(milliseconds: 8000)))
        #expect(PushRetry.outcome(after: first, status: nil, retryAfterSeconds: nil, at: start) == .retry(at: start.adding(milliseconds: 1000)))
        #expect(PushRetry.outcome(after: first, status: 413, retryAfterSeconds: nil, at: start) == .abandoned, "refused for good")
    }

    @Test func pushEndpointsAreHTTPSUnlessTheOperatorAllowedTheirNetwork() async throws {
        let policy = OutboundAddressPolicy(httpsOnly: true)
        #expect(try await policy.check("https://198.51.100.7/push") == "198.51.100.7")
        await #expect(throws: OutboundAddressPolicy.Refusal.notHTTPS) { try await policy.check("http://198.51.100.7/push") }
        await #expect(throws: OutboundAddressPolicy.Refusal.self) { try await policy.check("https://127.0.0.1/push") }
        let local = OutboundAddressPolicy(allowed: [IPNetwork("127.0.0.0/8")!], httpsOnly: true)
        #expect(try await local.check("http://127.0.0.1:9000/push") == "127.0.0.1")
        await #expect(throws: OutboundAddressPolicy.Refusal.notHTTPS) { try await local.check("http://198.51.100.7/push") }
    }
}
