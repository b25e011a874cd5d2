import Crypto
import Foundation
import TodoCore
import TodoStore

/// Random secrets that are stored only as their SHA-256 (a fast hash is right here: the secret
/// is 256 random bits, not a password to brute-force): personal tokens, password-reset tokens.
enum RandomSecret {
    /// 32 random bytes, base64url without padding (43 characters).
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Making and checking personal API tokens.
enum PersonalTokens {
    static func newSecret() -> String {
        PersonalToken.prefix + RandomSecret.make()
    }

    static func hash(_ secret: String) -> String {
        RandomSecret.hash(secret)
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
