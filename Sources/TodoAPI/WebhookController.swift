import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// `/api/{user_id}/webhooks`: a user's webhooks (the signing secret is shown once, when one is
/// created) and the latest deliveries of each.
struct WebhookController<Context: AppRequestContext>: Sendable {
    let webhooks: any WebhookStore
    let policy: OutboundAddressPolicy
    let body: JSONBody
    /// Fixed, not a setting: a user needs a few receivers, not hundreds of fan-out targets.
    static var maximumWebhooks: Int { 20 }
    static var deliveriesShown: Int { 50 }

    struct List<Item: Encodable & Sendable>: ResponseEncodable {
        var items: [Item]
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post(use: create)
        group.get(use: list)
        group.delete(":webhook_id", use: delete)
        group.get(":webhook_id/deliveries", use: deliveries)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<CreatedWithSecret<Webhook>> {
        let userID = try context.requireUser()
        let fields = try Fields(try await body.require(request).object(), allowed: ["url", "events", "project_id"])
        let projectID = try Self.projectID(fields)
        let url = try fields.string("url")
        guard Webhook.urlLength.contains(url.utf8.count) else {
            throw ValidationError(field: "url", "must be 1 to \(Webhook.urlLength.upperBound) bytes")
        }
        do {
            _ = try await policy.check(url)
        } catch let refusal as OutboundAddressPolicy.Refusal {
            throw ValidationError(field: "url", refusal.description)
        }
        let webhook = Webhook(id: UUID().uuidString.lowercased(), userID: userID, url: url, events: try Self.events(fields), projectID: projectID,
                              createdAt: .now())
        let secret = WebhookSignature.newSecret()
        switch try await webhooks.createWebhook(webhook, secret: secret, limit: Self.maximumWebhooks) {
        case .created: return EditedResponse(status: .created, response: CreatedWithSecret(webhook, secret: secret, key: "secret"))
        case .noSuchAccount: throw APIError.unauthorized("the account no longer exists")
        // As a task naming a project the caller is not a member of: 422 on the field.
        case .noSuchProject: throw ValidationError(field: "project_id", "no such project")
        }
    }

    /// The project whose tasks the webhook hears of: a project id (a string), or absent or null
    /// for every project of the caller's.
    static func projectID(_ fields: Fields) throws -> ProjectID? {
        switch fields.object["project_id"] {
        case nil, .null?: return nil
        case .string(let text)? where ProjectID(text).map { $0 > 0 } == true: return ProjectID(text)
        default: throw ValidationError(field: "project_id", "must be a project id (a string) or null")
        }
    }

    /// A non-empty list of known event types, each once, in the order given.
    static func events(_ fields: Fields) throws -> [WebhookEventType] {
        guard case .array(let values) = fields.object["events"] ?? .null, !values.isEmpty else {
            throw ValidationError(field: "events", "must be a non-empty array of event types")
        }
        var events: [WebhookEventType] = []
        for value in values {
            let known = WebhookEventType.allCases.map(\.rawValue).joined(separator: ", ")
            guard case .string(let text) = value, let type = WebhookEventType(rawValue: text) else {
                throw ValidationError(field: "events", "must hold only these event types: \(known)")
            }
            if !events.contains(type) { events.append(type) }
        }
        return events
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> List<Webhook> {
        List(items: try await webhooks.webhooks(userID: try context.requireUser()))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        guard try await webhooks.deleteWebhook(id: try webhookID(context), userID: try context.requireUser()) else { throw Self.noSuchWebhook }
        return .noContent
    }

    @Sendable func deliveries(_ request: Request, context: Context) async throws -> List<WebhookDelivery> {
        guard let items = try await webhooks.deliveries(webhookID: try webhookID(context), userID: try context.requireUser(), limit: Self.deliveriesShown)
        else { throw Self.noSuchWebhook }
        return List(items: items)
    }

    /// Webhook ids are UUIDs: anything else is no webhook, answered without a query.
    private func webhookID(_ context: Context) throws -> String {
        guard let id = context.parameters.get("webhook_id"), UUID(uuidString: id) != nil else { throw Self.noSuchWebhook }
        return id
    }

    static var noSuchWebhook: APIError { APIError(.notFound, code: "not_found", message: "no such webhook") }
}
