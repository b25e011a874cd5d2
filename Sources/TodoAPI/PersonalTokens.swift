import Crypto
import Foundation
import TodoCore
import TodoStore

/// Making and checking personal API tokens. The secret is 256 random bits; only its SHA-256 is
/// stored (a fast hash is right here: the secret is random, not a password to brute-force).
enum PersonalTokens {
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let encoded = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return PersonalToken.prefix + encoded
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The owner of a valid, unexpired token secret. Its last use is recorded at most once per
    /// `PersonalToken.lastUseResolution`, and never for a secret that matches no token.
    static func owner(of secret: String, in accounts: any AccountStore) async throws -> UserID? {
        let now = Timestamp.now()
        guard let token = try await accounts.token(secretHash: hash(secret)), !token.isExpired(at: now) else { return nil }
        if token.lastUsedAt.map({ now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch >= PersonalToken.lastUseResolution.milliseconds }) ?? true {
            try await accounts.touchToken(id: token.id, at: now)
        }
        return token.userID
    }
}
