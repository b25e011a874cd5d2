import Foundation
import JWTKit
import Synchronization
import TodoCore

/// Who an access token speaks for: a user, through one log-in session.
struct TokenSubject: Sendable, Equatable {
    var userID: UserID
    var sessionID: String
}

/// Issues and verifies the HS256 JWT access tokens of the API.
public struct AccessTokens: Sendable {
    /// The claims of an access token. `sid` names the log-in session; tokens without one (issued
    /// before sessions were stored) are refused, since nothing could revoke them.
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var sid: String?
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

    /// A new token for `userID` in `session` and the moment it stops working.
    func issue(for userID: UserID, session: String, at instant: Date = Date()) async throws -> (token: String, expiresAt: Timestamp) {
        // Whole seconds: JWT libraries elsewhere expect integer NumericDates.
        let now = Date(timeIntervalSince1970: instant.timeIntervalSince1970.rounded(.down))
        let expiry = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        let claims = Claims(sub: .init(value: userID), sid: session, iat: .init(value: now), nbf: .init(value: now.addingTimeInterval(-1)),
                            exp: .init(value: expiry))
        let token = try await keys.sign(claims)
        return (token, Timestamp(millisecondsSinceEpoch: Int64(expiry.timeIntervalSince1970 * 1000)))
    }

    /// Whom a token speaks for, or nil when the token is forged, expired, not yet valid, malformed
    /// or names no session. jwt-kit only accepts the algorithm of the configured key, so
    /// `alg: none` never passes. Whether the session still exists is the caller's to check.
    func verify(_ token: String) async -> TokenSubject? {
        let now = Date()
        if let subject = verified.subject(of: token, at: now) { return subject }
        guard let claims = try? await keys.verify(token, as: Claims.self), !claims.sub.value.isEmpty,
              let session = claims.sid, !session.isEmpty
        else { return nil }
        let subject = TokenSubject(userID: claims.sub.value, sessionID: session)
        verified.remember(token, subject: subject, validFrom: claims.nbf.value, until: claims.exp.value)
        return subject
    }
}

/// A bounded memory of verified tokens and the span they are valid in.
final class VerifiedTokens: Sendable {
    private struct Entry {
        var subject: TokenSubject
        var validFrom: Date
        var until: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    static let capacity = 10_000

    func subject(of token: String, at now: Date) -> TokenSubject? {
        entries.withLock { entries in
            guard let entry = entries[token], entry.validFrom <= now, now < entry.until else { return nil }
            return entry.subject
        }
    }

    func remember(_ token: String, subject: TokenSubject, validFrom: Date, until: Date) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = Entry(subject: subject, validFrom: validFrom, until: until)
        }
    }
}
