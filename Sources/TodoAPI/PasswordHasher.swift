import HummingbirdBcrypt
import NIOPosix

/// bcrypt on NIO's blocking thread pool: a hash takes tens to hundreds of milliseconds and
/// must never hold an event loop or a Swift concurrency thread.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// Verified against when an e-mail is unknown, so that a wrong e-mail and a wrong password take equally long.
    private let decoyHash: String

    public init(cost: UInt8) {
        self.cost = cost
        self.decoyHash = Self.decoy(cost: cost)
    }

    /// A well-formed hash at `cost` that no password matches, made without paying for that
    /// cost at start-up (it was most of `todo api`'s start-up time): the salt and digest of a
    /// cheapest-cost hash under the real cost's header. Checking against it costs as much as
    /// checking a real hash, which is all the decoy is for.
    static func decoy(cost: UInt8) -> String {
        let cheapest = Bcrypt.hash("decoy password that matches nothing", cost: 4)  // "$2b$04$" + salt + digest
        let header = "$2b$" + (cost < 10 ? "0" : "") + String(cost) + "$"
        return header + cheapest.dropFirst(header.count)
    }

    /// A hash no password matches, for an account without a password (made by single sign-on):
    /// a decoy with a salt of its own, at the cost of a cheap hash.
    public func unusableHash() -> String {
        Self.decoy(cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks `password` against `hash`, or against the decoy when there is no account.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }
}
