import Crypto
import Foundation
import TodoCore

/// The server's VAPID identity (RFC 8292): push services accept a message only with a JWT
/// signed by the key whose public half the browser was given when it subscribed, so every
/// replica must hold the same key.
public struct VAPIDKey: Sendable {
    public let privateKey: P256.Signing.PrivateKey
    /// Who the push service's operator may contact: a `mailto:` or `https:` URL.
    public let subject: String
    /// How long a token is valid; RFC 8292 allows at most a day.
    static let tokenLifetime: Int64 = 12 * 3600

    /// `text` is the 32-byte private scalar in base64url (as `web-push generate-vapid-keys`
    /// prints it and `todo serve` keeps it) or a PEM private key (`openssl ecparam -name prime256v1
    /// -genkey -noout`).
    public init(_ text: String, subject: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN") {
            privateKey = try P256.Signing.PrivateKey(pemRepresentation: trimmed)
        } else {
            guard let raw = Data(base64URLEncoded: trimmed), raw.count == 32 else { throw VAPIDKeyError() }
            privateKey = try P256.Signing.PrivateKey(rawRepresentation: raw)
        }
        guard subject.hasPrefix("mailto:") || subject.hasPrefix("https://") else { throw VAPIDKeyError(subjectOnly: true) }
        self.subject = subject
    }

    /// A new private key in the base64url form `init` reads.
    public static func newPrivateKey() -> String {
        P256.Signing.PrivateKey().rawRepresentation.base64URLEncodedString()
    }

    /// The public key as browsers' `applicationServerKey` takes it: the uncompressed point in base64url.
    public var publicKey: String { privateKey.publicKey.x963Representation.base64URLEncodedString() }

    /// The `Authorization` header for a message to `endpoint`: `vapid t=<JWT>, k=<public key>`,
    /// the JWT's audience being the push service's origin.
    func authorization(for endpoint: URL, at now: Timestamp) throws -> String {
        guard let origin = Self.origin(of: endpoint) else { throw VAPIDKeyError() }
        return "vapid t=\(try token(audience: origin, expiry: now.millisecondsSinceEpoch / 1000 + Self.tokenLifetime)), k=\(publicKey)"
    }

    /// An ES256 JWT of `aud`, `exp` and `sub`; the signature is r and s, 32 bytes each, as JWS wants.
    func token(audience: String, expiry: Int64) throws -> String {
        var claims = JSONBytes(capacity: 256)
        claims.append("{\"aud\":")
        claims.appendString(audience)
        claims.append(",\"exp\":")
        claims.appendInteger(expiry)
        claims.append(",\"sub\":")
        claims.appendString(subject)
        claims.append("}")
        let header = Data(#"{"typ":"JWT","alg":"ES256"}"#.utf8).base64URLEncodedString()
        let signingInput = header + "." + Data(claims.bytes).base64URLEncodedString()
        let signature = try privateKey.signature(for: Data(signingInput.utf8))
        return signingInput + "." + signature.rawRepresentation.base64URLEncodedString()
    }

    /// `scheme://host[:port]`, the port only when not the scheme's default.
    static func origin(of url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else { return nil }
        let name = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        guard let port = url.port, port != (scheme == "https" ? 443 : 80) else { return "\(scheme)://\(name)" }
        return "\(scheme)://\(name):\(port)"
    }
}

public struct VAPIDKeyError: Error, CustomStringConvertible {
    var subjectOnly = false

    public var description: String {
        subjectOnly
            ? "VAPID_SUBJECT must be a mailto: or https: URL, the contact push services may write to"
            : "VAPID_PRIVATE_KEY must be a P-256 private key: 32 bytes in base64url, or PEM"
    }
}

/// Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188):
/// a fresh key pair and salt per message, the key derived from ECDH with the browser's key and
/// its authentication secret, the payload in one record.
enum WebPushEncryption {
    static let recordSize = 4096
    /// Push services take 4096 bytes a message: less the header (86), the delimiter and the tag.
    static let largestPayload = 4096 - 86 - 1 - 16

    struct InvalidSubscriptionKeys: Error {}
    struct PayloadTooLarge: Error {}

    /// The request body for `payload` to the browser whose keys are `p256dh` (uncompressed point)
    /// and `auth` (16 bytes). `senderKey` and `salt` are fixed only by tests (RFC 8291's example).
    static func encrypt(
        _ payload: [UInt8], p256dh: [UInt8], auth: [UInt8], senderKey: P256.KeyAgreement.PrivateKey = .init(), salt: [UInt8] = randomSalt()
    ) throws -> [UInt8] {
        guard payload.count <= largestPayload else { throw PayloadTooLarge() }
        guard auth.count == 16, salt.count == 16, let browserKey = try? P256.KeyAgreement.PublicKey(x963Representation: p256dh)
        else { throw InvalidSubscriptionKeys() }
        let senderPublic = Array(senderKey.publicKey.x963Representation)
        let shared = try senderKey.sharedSecretFromKeyAgreement(with: browserKey)
        let keyInfo = Array("WebPush: info\0".utf8) + Array(browserKey.x963Representation) + senderPublic
        let inputKey = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: auth, sharedInfo: keyInfo, outputByteCount: 32)
        let contentKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKey, salt: salt, info: Array("Content-Encoding: aes128gcm\0".utf8), outputByteCount: 16)
        let nonce = HKDF<SHA256>.deriveKey(inputKeyMaterial: inputKey, salt: salt, info: Array("Content-Encoding: nonce\0".utf8), outputByteCount: 12)
        let sealed = try AES.GCM.seal(payload + [2], using: contentKey, nonce: try AES.GCM.Nonce(data: nonce.withUnsafeBytes { Data($0) }))
        let size = UInt32(recordSize)
        let header = salt + [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF), UInt8(senderPublic.count)]
        return header + senderPublic + Array(sealed.ciphertext) + Array(sealed.tag)
    }

    static func randomSalt() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Whether `p256dh` and `auth` (base64url) are keys a message can be encrypted for.
    static func validKeys(p256dh: String, auth: String) -> Bool {
        guard let point = Data(base64URLEncoded: p256dh), let secret = Data(base64URLEncoded: auth), secret.count == 16 else { return false }
        return point.count == 65 && (try? P256.KeyAgreement.PublicKey(x963Representation: point)) != nil
    }
}
