import Foundation
import TodoCore
import TodoStore

/// Making and checking personal API tokens.
enum PersonalTokens {
    static func newSecret() -> String {
        PersonalToken.prefix + SecretTokens.random()
    }

    static func hash(_ secret: String) -> String {
        SecretTokens.hash(secret)
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
