import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// `/api/tokens`: create (the secret is shown once), list and revoke personal API tokens.
/// Managing tokens needs a log-in session: a personal token cannot mint or revoke tokens.
struct TokenController<Context: AppRequestContext>: Sendable {
    let accounts: any AccountStore
    let body: JSONBody
    /// Fixed, not a setting: the document promises clients a token list of at most 50 (`TokenList`).
    static var maximumTokens: Int { 50 }

    struct List: ResponseEncodable {
        var items: [PersonalToken]
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post(use: create)
        group.get(use: list)
        group.delete(":token_id", use: revoke)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<CreatedWithSecret<PersonalToken>> {
        let userID = try context.requireLogIn(toManage: "tokens")
        let fields = try Fields(try await body.require(request).object(), allowed: ["name", "expires_at"])
        let name = TextRules.trimmedName(try fields.string("name"))
        guard PersonalToken.nameLength.contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw ValidationError(field: "name", "must be 1 to \(PersonalToken.nameLength.upperBound) characters without control characters") }
        var expiresAt: Timestamp?
        if let text = try fields.optionalString("expires_at") {
            guard let time = Timestamp(rfc3339: text) else { throw ValidationError(field: "expires_at", "must be an RFC 3339 time") }
            guard time > .now() else { throw ValidationError(field: "expires_at", "must be in the future") }
            expiresAt = time
        }
        let secret = PersonalTokens.newSecret()
        let token = PersonalToken(id: UUID().uuidString.lowercased(), userID: userID, name: name, createdAt: .now(),
                                  expiresAt: expiresAt, lastUsedAt: nil)
        // The store counts and inserts in one step: a burst of creations cannot pass the limit together.
        guard try await accounts.createToken(token, secretHash: PersonalTokens.hash(secret), limit: Self.maximumTokens) else {
            throw APIError.unauthorized("the account no longer exists")
        }
        return EditedResponse(status: .created, response: CreatedWithSecret(token, secret: secret, key: "token"))
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> List {
        List(items: try await accounts.tokens(userID: try context.requireLogIn(toManage: "tokens")))
    }

    @Sendable func revoke(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let userID = try context.requireLogIn(toManage: "tokens")
        // Token ids are UUIDs: anything else is no token, answered without a query.
        guard let id = context.parameters.get("token_id"), UUID(uuidString: id) != nil,
              try await accounts.deleteToken(id: id, userID: userID) else {
            throw APIError(.notFound, code: "not_found", message: "no such token")
        }
        return .noContent
    }
}
