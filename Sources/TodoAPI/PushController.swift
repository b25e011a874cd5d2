import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// `GET /api/push/vapid-public-key` and `/api/{user_id}/push-subscriptions`: a browser learns
/// the server's key, subscribes with its push service, and hands the subscription over here.
/// Without a VAPID key (`todo api` with no `VAPID_PRIVATE_KEY`) push is off and these answer 404.
struct PushController<Context: AppRequestContext>: Sendable {
    let push: any PushStore
    let key: VAPIDKey?
    let policy: OutboundAddressPolicy
    let body: JSONBody
    /// Fixed, not a setting: one per browser profile a user enables push on.
    static var maximumSubscriptions: Int { 50 }

    struct PublicKey: ResponseEncodable {
        var key: String
    }

    struct Created: ResponseEncodable {
        var id: String
    }

    func addRoutes(user: RouterGroup<Context>, public router: Router<Context>) {
        router.get("api/push/vapid-public-key", use: publicKey)
        user.post("push-subscriptions", use: subscribe)
        user.delete("push-subscriptions/:subscription_id", use: unsubscribe)
    }

    @Sendable func publicKey(_ request: Request, context: Context) async throws -> PublicKey {
        PublicKey(key: try requireKey().publicKey)
    }

    /// Stores the subscription; the same endpoint again (a browser renewing its keys) updates it.
    @Sendable func subscribe(_ request: Request, context: Context) async throws -> EditedResponse<Created> {
        let userID = try context.requireUser()
        _ = try requireKey()
        let fields = try Fields(try await body.require(request).object(), allowed: ["endpoint", "keys", "expirationTime"])
        let endpoint = try fields.string("endpoint")
        guard PushSubscription.endpointLength.contains(endpoint.utf8.count) else {
            throw ValidationError(field: "endpoint", "must be 1 to \(PushSubscription.endpointLength.upperBound) bytes")
        }
        guard case .object(let keyObject) = fields.object["keys"] ?? .null else { throw ValidationError(field: "keys", "must be an object with p256dh and auth") }
        let keys = try Fields(keyObject, allowed: ["p256dh", "auth"])
        let (p256dh, auth) = (try keys.string("p256dh"), try keys.string("auth"))
        guard WebPushEncryption.validKeys(p256dh: p256dh, auth: auth) else {
            throw ValidationError(field: "keys", "must hold p256dh, a P-256 public key, and auth, 16 bytes, both in base64url")
        }
        do {
            _ = try await policy.check(endpoint)
        } catch let refusal as OutboundAddressPolicy.Refusal {
            throw ValidationError(field: "endpoint", refusal.description)
        }
        let subscription = PushSubscription(
            id: UUID().uuidString.lowercased(), userID: userID, endpoint: endpoint, p256dh: p256dh, auth: auth, createdAt: .now())
        guard let id = try await push.saveSubscription(subscription, limit: Self.maximumSubscriptions) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return EditedResponse(status: .created, response: Created(id: id))
    }

    @Sendable func unsubscribe(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireUser()
        // Subscription ids are UUIDs: anything else is no subscription, answered without a query.
        guard let id = context.parameters.get("subscription_id"), UUID(uuidString: id) != nil,
              try await push.deleteSubscription(id: id, userID: userID)
        else { throw APIError(.notFound, code: "not_found", message: "no such push subscription") }
        return .noContent
    }

    private func requireKey() throws -> VAPIDKey {
        guard let key else {
            throw APIError(.notFound, code: "push_disabled", message: "Web Push is off on this server: the operator has not set VAPID_PRIVATE_KEY")
        }
        return key
    }
}
