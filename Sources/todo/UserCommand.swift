import ArgumentParser
import Foundation
import TodoAPI
import TodoCore
import TodoSettings
import TodoStore

/// `todo user …`: operators manage accounts on the configured database (`DATABASE_URL`), with
/// the same rules as the API. Passwords are read from standard input, never from arguments
/// (which `ps` shows to every user of the machine).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage accounts on the configured database.",
        subcommands: [Create.self, List.self, Disable.self, Enable.self, Delete.self, ResetPassword.self, Invite.self, Admin.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account; its password is read from standard input.")

        @Argument(help: "The account's e-mail.") var email: String
        @Option(help: "The display name.") var name: String?
        @Flag(help: "Make the account an admin: it sees every account in the web UI, disables them and invites people.") var admin = false

        func run() async throws {
            let email = try Credentials.normalizedEmail(self.email)
            let name = try Credentials.normalizedName(self.name)
            let password = try readPassword()
            let settings = try await operatorSettings()
            let hash = try await PasswordHasher(cost: try passwordHashCost(settings)).hash(password)
            let user = User(id: UUID().uuidString.lowercased(), email: email, name: name, createdAt: .now())
            let grant: AdminGrant = admin ? .yes : .no
            let creation = try await withDatabase(label: "todo.user", settings: settings) { storage, _ in
                try await storage.accounts.createUser(user, passwordHash: hash, admin: grant, invitation: nil, addressProven: true)
            }
            guard case .created(let created) = creation else { throw ValidationError("an account with the e-mail \(email) exists already") }
            print("created \(created.admin ? "admin " : "")\(created.email) (\(created.id))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts, oldest first.")

        func run() async throws {
            let accounts = try await withDatabase(label: "todo.user") { storage, _ in try await storage.accounts.allUsers() }
            print(["E-MAIL", "NAME", "CREATED", "STATUS", "ROLE", "ID"].joined(separator: "\t"))
            for account in accounts {
                let user = account.user
                print([user.email, user.name ?? "-", user.createdAt.rfc3339, account.disabled ? "disabled" : "active",
                       user.admin ? "admin" : "user", user.id].joined(separator: "\t"))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account: it cannot log in, and its sessions and tokens stop within a second.")

        @Argument(help: "The account's e-mail.") var email: String

        func run() async throws {
            try await setDisabled(true, email: email)
            print("disabled \(email)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account again.")

        @Argument(help: "The account's e-mail.") var email: String

        func run() async throws {
            try await setDisabled(false, email: email)
            print("enabled \(email)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an account and everything it owns: tasks, tokens, sessions, conversations.")

        @Argument(help: "The account's e-mail.") var email: String
        @Flag(help: "Confirm: the deletion cannot be undone (export the tasks first with todo export).") var yes = false

        func run() async throws {
            guard yes else { throw ValidationError("deleting \(email) removes all its data for good: add --yes to confirm") }
            let email = try Credentials.normalizedEmail(self.email)
            try await withDatabase(label: "todo.user") { storage, _ in
                guard try await storage.accounts.deleteUser(id: try await account(email, in: storage).id) else { throw noAccount(email) }
            }
            print("deleted \(email)")
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Set a new password, read from standard input, and end every log-in session of the account.",
            discussion: """
                With --link, nothing is read: a one-time link to the web UI's reset page is printed instead, for the \
                user to choose the password (PUBLIC_WEB_URL must be set). It works once, for 30 minutes.
                """)

        @Argument(help: "The account's e-mail.") var email: String
        @Flag(help: "Revoke the account's personal API tokens too.") var revokeApiTokens = false
        @Flag(help: "Print a one-time reset link instead of reading a password.") var link = false

        func validate() throws {
            if link && revokeApiTokens { throw ValidationError("--revoke-api-tokens sets a password now: it cannot go with --link") }
        }

        func run() async throws {
            let email = try Credentials.normalizedEmail(self.email)
            if link { return try await printLink(email) }
            let settings = try await operatorSettings()
            let hash = try await PasswordHasher(cost: try passwordHashCost(settings)).hash(try readPassword())
            let revoke = revokeApiTokens
            try await withDatabase(label: "todo.user", settings: settings) { storage, _ in
                let id = try await account(email, in: storage).id
                guard try await storage.accounts.changePassword(userID: id, hash: hash, keepingSession: nil, revokingTokens: revoke) else {
                    throw noAccount(email)
                }
            }
            print("new password set for \(email); every session of it has ended")
        }

        /// The link goes to standard output, for the operator to pass on (it is a password
        /// for 30 minutes: send it the way you would send one).
        private func printLink(_ email: String) async throws {
            let settings = try await operatorSettings()
            let webURL = try settings.publicWebURL()
            let link = try await withDatabase(label: "todo.user", settings: settings) { storage, _ in
                let links = PasswordResetLinks(store: storage.passwordResets, webURL: webURL)
                guard let link = try await links.make(for: try await account(email, in: storage).id) else {
                    throw ValidationError("the account \(email) is disabled: enable it first with todo user enable")
                }
                return link
            }
            print(link)
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time sign-up link for an e-mail, valid 7 days (for SIGNUP=invite; open honours it too).",
            discussion: "The link starts with PUBLIC_WEB_URL, the web UI's address. A new invitation for the same e-mail replaces the one before.")

        @Argument(help: "The e-mail to invite.") var email: String

        func run() async throws {
            let email = try Credentials.normalizedEmail(self.email)
            let settings = try await operatorSettings()
            let webURL = try settings.url("PUBLIC_WEB_URL")
            let token = try await withDatabase(label: "todo.user", settings: settings) { storage, _ in
                guard try await storage.accounts.credentials(email: email) == nil else {
                    throw ValidationError("an account with the e-mail \(email) exists already")
                }
                return try await Invitations.issue(email: email, invitedBy: nil, in: storage.accounts).token
            }
            let path = SignUpInvitation.signUpPath(token: token)
            guard let webURL else {
                FileHandle.standardError.write(Data("PUBLIC_WEB_URL is not set: put the web UI's address in front of this path\n".utf8))
                print(path)
                return
            }
            print((webURL.hasSuffix("/") ? String(webURL.dropLast()) : webURL) + path)
        }
    }

    struct Admin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an account an admin, or (with --revoke) an ordinary account again.")

        @Argument(help: "The account's e-mail.") var email: String
        @Flag(help: "Take the admin role away.") var revoke = false

        func run() async throws {
            let email = try Credentials.normalizedEmail(self.email)
            let admin = !revoke
            try await withDatabase(label: "todo.user") { storage, _ in
                guard try await storage.accounts.setAdmin(admin, userID: try await account(email, in: storage).id) else { throw noAccount(email) }
            }
            print(admin ? "\(email) is an admin" : "\(email) is no longer an admin")
        }
    }
}

private func account(_ email: String, in storage: Storage) async throws -> User {
    guard let stored = try await storage.accounts.credentials(email: email) else { throw noAccount(email) }
    return stored.user
}

private func noAccount(_ email: String) -> ArgumentParser.ValidationError {
    ArgumentParser.ValidationError("no account has the e-mail \(email)")
}

private func setDisabled(_ disabled: Bool, email raw: String) async throws {
    let email = try Credentials.normalizedEmail(raw)
    try await withDatabase(label: "todo.user") { storage, _ in
        guard try await storage.accounts.setDisabled(disabled, userID: try await account(email, in: storage).id) else { throw noAccount(email) }
    }
}

/// The first line of standard input, checked like a new password at sign-up.
private func readPassword() throws -> String {
    guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
        throw ValidationError("give the password on standard input, e.g.  printf '%s\\n' \"$PASSWORD\" | todo user …")
    }
    try Credentials.checkNewPassword(line)
    return line
}

/// `PASSWORD_HASH_COST`, as the API reads it.
private func passwordHashCost(_ settings: SettingsReader) throws -> UInt8 {
    UInt8(try settings.integer("PASSWORD_HASH_COST", default: 12, range: 4...31))
}
