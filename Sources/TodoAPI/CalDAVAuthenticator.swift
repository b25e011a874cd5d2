import Crypto
import Foundation
import Hummingbird
import Synchronization
import TodoCore
import TodoStore

/// HTTP Basic for CalDAV clients, which cannot do our log-in: the account's e-mail and a
/// personal token (`todo_pat_…`) as the password. Never the account's password: clients store
/// what they are given, a token can be revoked alone, and with single sign-on there is none.
///
/// A wrong e-mail or token counts as a failed log-in (`LoginThrottle`, the same counters as
/// `POST /api/auth/login`). Clients send their credentials with every request, so a pair seen
/// valid is remembered (by its hash) and later requests skip the throttle's counter writes;
/// the token itself is still looked up on each request, so revoking it takes effect at once.
final class CalDAVAuthenticator: Sendable {
    let accounts: any AccountStore
    let throttle: LoginThrottle
    private let verified = Mutex<[String: UserID]>([:])
    static let capacity = 10_000

    init(accounts: any AccountStore, throttle: LoginThrottle) {
        self.accounts = accounts
        self.throttle = throttle
    }

    /// The user the request's credentials belong to; 401 with a Basic challenge otherwise.
    func authenticate(_ request: Request, clientAddress: String?) async throws -> UserID {
        guard let (email, secret) = Self.credentials(request.headers[.authorization]) else {
            throw Self.challenge("sign in with your e-mail and a personal token")
        }
        let key = SHA256.hash(data: Data("\(email)\u{0}\(secret)".utf8)).map { String(format: "%02x", $0) }.joined()
        if let known = verified.withLock({ $0[key] }) {
            if try await PersonalTokens.owner(of: secret, in: accounts) == known { return known }
            verified.withLock { _ = $0.removeValue(forKey: key) }
        }
        var owner: UserID?
        let succeeded = try await throttle.attempt(email: email, address: clientAddress) {
            guard secret.hasPrefix(PersonalToken.prefix), let tokenOwner = try await PersonalTokens.owner(of: secret, in: accounts),
                let stored = try await accounts.credentials(email: email), stored.user.id == tokenOwner, !stored.disabled
            else { return false }
            owner = tokenOwner
            return true
        }
        guard succeeded, let owner else {
            throw Self.challenge("the e-mail and personal token do not match (the account password is not accepted here)")
        }
        verified.withLock { verified in
            if verified.count >= Self.capacity { verified.removeAll(keepingCapacity: true) }
            verified[key] = owner
        }
        return owner
    }

    /// The e-mail (normalized as at log-in) and secret of `Authorization: Basic …`.
    static func credentials(_ header: String?) -> (String, String)? {
        guard let header, header.utf8.count <= 4096 else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic", let data = Data(base64Encoded: String(parts[1])),
            let decoded = String(data: data, encoding: .utf8), let colon = decoded.firstIndex(of: ":")
        else { return nil }
        let rawEmail = String(decoded[..<colon])
        let email = (try? Credentials.normalizedEmail(rawEmail)) ?? rawEmail
        return (email, String(decoded[decoded.index(after: colon)...]))
    }

    static func challenge(_ message: String) -> APIError {
        var error = APIError(.unauthorized, code: "unauthorized", message: message)
        error.headers[.wwwAuthenticate] = "Basic realm=\"todo CalDAV\", charset=\"UTF-8\""
        return error
    }
}
