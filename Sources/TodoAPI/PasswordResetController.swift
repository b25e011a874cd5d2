import Foundation
import Hummingbird
import TodoCore
import TodoStore

/// "Forgot password": `forgot` mails a one-time link (when mail is configured), `reset` uses it.
struct PasswordResetController<Context: AppRequestContext>: Sendable {
    let resets: any PasswordResetStore
    let sessions: LiveSessions
    let hasher: PasswordHasher
    let body: JSONBody
    /// Nil when no mail server is configured: then only an operator's link resets a password.
    let mailer: ResetMailer?
    /// `PASSWORD_LOGIN`: when off, a password could not be used, so none is reset either.
    let passwordLogin: Bool

    struct ForgotAnswer: ResponseEncodable {
        /// Whether this server sends mail at all; without it, users ask the operator.
        var mailConfigured: Bool

        enum CodingKeys: String, CodingKey {
            case mailConfigured = "mail_configured"
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("forgot", use: forgot)
        group.post("reset", use: reset)
    }

    /// 202 whether or not the e-mail has an account, at once: the lookup and the mail happen
    /// after the answer, so its timing tells nothing either.
    @Sendable func forgot(_ request: Request, context: Context) async throws -> EditedResponse<ForgotAnswer> {
        try checkPasswordLogin()
        let fields = try Fields(try await body.require(request).object(), allowed: ["email"])
        let email = try Credentials.normalizedEmail(try fields.string("email"))
        mailer?.sendInBackground(to: email, from: context.clientAddress, logger: context.logger)
        return EditedResponse(status: .accepted, response: ForgotAnswer(mailConfigured: mailer != nil))
    }

    /// A new password for the link's account; every log-in session of it ends, and every other
    /// link. The password is hashed only for a valid token: unknown tokens cost no bcrypt.
    @Sendable func reset(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        try checkPasswordLogin()
        let fields = try Fields(try await body.require(request).object(), allowed: ["token", "new_password"])
        let token = try fields.string("token")
        let new = try fields.string("new_password")
        do { try Credentials.checkNewPassword(new) } catch { throw ValidationError(error.issues.map { FieldIssue(field: "new_password", message: $0.message) }) }
        let tokenHash = SecretTokens.hash(token)
        guard try await resets.passwordResetAccount(tokenHash: tokenHash, at: .now()) != nil,
              let userID = try await resets.resetPassword(tokenHash: tokenHash, passwordHash: try await hasher.hash(new), at: .now())
        else { throw Self.invalidToken }
        sessions.forget(userID: userID)
        context.logger.info("password reset", metadata: ["user_id": "\(userID)"])
        return .noContent
    }

    static var invalidToken: APIError {
        APIError(.badRequest, code: "invalid_token", message: "the reset link is invalid, expired or already used; ask for a new one")
    }

    private func checkPasswordLogin() throws {
        guard passwordLogin else { throw APIError.passwordLoginDisabled }
    }
}
