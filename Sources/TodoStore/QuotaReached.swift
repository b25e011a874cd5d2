/// A write refused because the user already holds as many of something as a quota allows.
/// Waiting does not help; deleting some does. Stores count and insert in one step, so concurrent
/// writes of one user never pass a quota together.
public struct QuotaReached: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Quota: String, Sendable {
        case tasks
        case personalTokens = "tokens"
        case conversations
        /// The user's messages in one conversation.
        case messages
        case webhooks
        case pushSubscriptions = "push_subscriptions"
    }

    public var quota: Quota
    public var limit: Int

    public init(_ quota: Quota, limit: Int) {
        self.quota = quota
        self.limit = limit
    }

    public var description: String { "the quota of \(limit) \(quota.rawValue) is reached" }
}
