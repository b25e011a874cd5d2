import Crypto
import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// The secrets of links and tokens (personal tokens, invitations, password resets): 256 random bits in base64url,
/// of which only the SHA-256 is stored. A fast hash is right here: the secret is random, not a
/// password to brute-force.
public enum SecretTokens {
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64URLEncodedString()
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Something just made, with its secret under `key`: the only answer that ever holds the secret
/// (a personal token's, a webhook's signing key).
struct CreatedWithSecret<Item: Encodable & Sendable>: ResponseEncodable {
    let item: Item
    let secret: String
    let key: String

    init(_ item: Item, secret: String, key: String) {
        self.item = item
        self.secret = secret
        self.key = key
    }

    func encode(to encoder: any Encoder) throws {
        try item.encode(to: encoder)
        var container = encoder.container(keyedBy: SecretKey.self)
        try container.encode(secret, forKey: SecretKey(stringValue: key))
    }

    private struct SecretKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

/// Invitations to sign up (`SIGNUP=invite`), made by `todo user invite` or an admin.
public enum Invitations {
    /// Stores a new invitation for `email`, replacing any before it, and returns its token: only
    /// this answer holds it.
    public static func issue(email: String, invitedBy: UserID?, in accounts: any AccountStore) async throws -> (token: String, invitation: SignUpInvitation) {
        let token = SecretTokens.random()
        let invitation = SignUpInvitation(email: email, invitedBy: invitedBy, createdAt: .now())
        try await accounts.createInvitation(invitation, tokenHash: SecretTokens.hash(token))
        return (token, invitation)
    }
}

extension Data {
    /// Base64url without padding, as in JWTs.
    init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }

    func base64URLEncodedString() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
