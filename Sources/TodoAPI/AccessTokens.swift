import Foundation
import JWTKit
import Synchronization
import TodoCore

/// Issues and verifies the HS256 JWT access tokens of the API.
public struct AccessTokens: Sendable {
    /// The claims of an access token.
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var iat: IssuedAtClaim
        var nbf: NotBeforeClaim
        var exp: ExpirationClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
            try nbf.verifyNotBefore()
        }
    }

    /// HS256 needs a key of at least 256 bits to be as strong as its hash.
    public static let minimumSecretLength = 32

    private let keys: JWTKeyCollection
    public let lifetime: Duration
    /// Tokens verified recently: a client sends the same token with every request, and a JWT
    /// cannot change, so checking its signature once is enough until it expires.
    private let verified = VerifiedTokens()

    public init(secret: String, lifetime: Duration) async {
        self.keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.lifetime = lifetime
    }

    /// A new token for `userID` and the moment it stops working.
    public func issue(for userID: UserID, at instant: Date = Date()) async throws -> (token: String, expiresAt: Timestamp) {
        // Whole seconds: JWT libraries elsewhere expect integer NumericDates.
        let now = Date(timeIntervalSince1970: instant.timeIntervalSince1970.rounded(.down))
        let expiry = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        let claims = Claims(sub: .init(value: userID), iat: .init(value: now), nbf: .init(value: now.addingTimeInterval(-1)),
                            exp: .init(value: expiry))
        let token = try await keys.sign(claims)
        return (token, Timestamp(millisecondsSinceEpoch: Int64(expiry.timeIntervalSince1970 * 1000)))
    }

    /// The user a token speaks for, or nil when the token is forged, expired, not yet valid or malformed.
    /// jwt-kit only accepts the algorithm of the configured key, so `alg: none` never passes.
    public func verify(_ token: String) async -> UserID? {
        let now = Date()
        if let userID = verified.user(of: token, at: now) { return userID }
        guard let claims = try? await keys.verify(token, as: Claims.self), !claims.sub.value.isEmpty else { return nil }
        verified.remember(token, user: claims.sub.value, validFrom: claims.nbf.value, until: claims.exp.value)
        return claims.sub.value
    }
}

/// A bounded memory of verified tokens and the span they are valid in.
final class VerifiedTokens: Sendable {
    private struct Entry {
        var userID: UserID
        var validFrom: Date
        var until: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    static let capacity = 10_000

    func user(of token: String, at now: Date) -> UserID? {
        entries.withLock { entries in
            guard let entry = entries[token], entry.validFrom <= now, now < entry.until else { return nil }
            return entry.userID
        }
    }

    func remember(_ token: String, user: UserID, validFrom: Date, until: Date) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = Entry(userID: user, validFrom: validFrom, until: until)
        }
    }
}
