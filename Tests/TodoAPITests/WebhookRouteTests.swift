import Foundation
import HTTPTypes
import Testing
import TodoAPI

/// `/api/{user_id}/webhooks` with and without a project. Delivery: tests/e2e/test_webhooks.py.
@Suite struct WebhookRouteTests {
    static let webhookKeys: Set<String> = ["id", "url", "events", "project_id", "created_at"]
    /// A public address literal: the policy passes it without a lookup.
    static let url = "https://198.51.100.7/hook"

    @Test func aWebhookNamesItsProjectOrNullForEveryProject() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let project = try #require(try await api.request(.post, "/api/me/projects", token: token, body: #"{"name": "Garden"}"#).object["id"] as? String)
            let scoped = try await api.request(.post, "/api/me/webhooks", token: token,
                                               body: #"{"url": "\#(Self.url)", "events": ["task.created"], "project_id": "\#(project)"}"#)
            #expect(scoped.status == .created)
            #expect(Set(scoped.object.keys) == Self.webhookKeys.union(["secret"]))
            #expect(scoped.object["project_id"] as? String == project)
            let everywhere = try await api.request(.post, "/api/me/webhooks", token: token,
                                                   body: #"{"url": "\#(Self.url)", "events": ["task.created"], "project_id": null}"#)
            #expect(everywhere.status == .created && everywhere.object["project_id"] is NSNull)

            let listed = try #require(try await api.request(.get, "/api/me/webhooks", token: token).object["items"] as? [[String: Any]])
            #expect(listed.allSatisfy { Set($0.keys) == Self.webhookKeys })
            #expect(listed.map { $0["project_id"] as? String } == [project, nil])
        }
    }

    @Test func aProjectTheCallerIsNotAMemberOfIsRefusedOnTheField() async throws {
        try await APIHarness.run { api in
            let (owner, _) = try await api.signUp()
            let (stranger, _) = try await api.signUp()
            let project = try #require(try await api.request(.post, "/api/me/projects", token: owner, body: #"{"name": "Mine"}"#).object["id"] as? String)
            for value in [#""\#(project)""#, #""999999""#, #""0""#, #""garden""#, "7"] {
                let refused = try await api.request(.post, "/api/me/webhooks", token: stranger,
                                                    body: #"{"url": "\#(Self.url)", "events": ["task.created"], "project_id": \#(value)}"#)
                #expect(refused.status == .unprocessableContent && refused.errorFields == ["project_id"], "\(value)")
            }
            #expect((try await api.request(.get, "/api/me/webhooks", token: stranger).object["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func deletingAProjectDeletesItsWebhooks() async throws {
        try await APIHarness.run { api in
            let (token, _) = try await api.signUp()
            let project = try #require(try await api.request(.post, "/api/me/projects", token: token, body: #"{"name": "Trip"}"#).object["id"] as? String)
            let created = try await api.request(.post, "/api/me/webhooks", token: token,
                                                body: #"{"url": "\#(Self.url)", "events": ["task.deleted"], "project_id": "\#(project)"}"#)
            let id = try #require(created.object["id"] as? String)
            #expect(try await api.request(.delete, "/api/me/projects/\(project)?tasks=delete", token: token).status == .noContent)
            #expect(try await api.request(.get, "/api/me/webhooks/\(id)/deliveries", token: token).status == .notFound)
            #expect((try await api.request(.get, "/api/me/webhooks", token: token).object["items"] as? [Any])?.isEmpty == true)
        }
    }
}
