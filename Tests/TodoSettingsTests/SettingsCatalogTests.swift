import Foundation
import Testing

@testable import TodoSettings

/// README's table is the catalog, and the catalog is what the roles read.
@Suite struct SettingsCatalogTests {
    /// Every role, with nothing set and then with every optional feature on (so that settings read
    /// only under another one, such as `OIDC_NAME`, are read too).
    private func readsOfEveryRole() async throws -> [(Role, [String: ResolvedValue?])] {
        let everything = [
            "AUTH_SECRET": String(repeating: "s", count: 40), "OIDC_ISSUER": "https://id.example", "OIDC_CLIENT_ID": "todo",
            "OIDC_CLIENT_SECRET": "x", "LLM_API_KEY": "k", "SMTP_URL": "smtp://mail.example", "MAIL_FROM": "todo@example.com",
            "PUBLIC_WEB_URL": "https://todo.example",
        ]
        var reads: [(Role, [String: ResolvedValue?])] = []
        for environment in [[:], everything] {
            for role in Role.allCases {
                // The API alone needs a secret; `todo serve` makes one when neither name is set.
                let secret = role == .api ? ["AUTH_SECRET": everything["AUTH_SECRET"]!] : [:]
                let settings = SettingsReader(try await SettingsSources.resolve(environment: environment.merging(secret) { given, _ in given }))
                try role.check(settings)
                reads.append((role, settings.readValues))
            }
        }
        return reads
    }

    @Test func readmeShowsTheCatalogsTable() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).appendingPathComponent("../../../README.md").standardized, encoding: .utf8)
        #expect(readme.contains(SettingsCatalog.markdownTable + "\n"), "README's Configuration table differs from the code: paste `todo config --table` in")
    }

    @Test func theRolesReadOnlyListedSettingsAndEveryListedOneIsRead() async throws {
        var read: Set<String> = []
        for (role, values) in try await readsOfEveryRole() {
            let unlisted = Set(values.keys).subtracting(SettingsCatalog.names)
            #expect(unlisted.isEmpty, "\(role) reads settings README does not list: \(unlisted.sorted())")
            read.formUnion(values.keys)
        }
        let neverRead = SettingsCatalog.names.subtracting(read).subtracting(["TODO_CONFIG_FILE"])
        #expect(neverRead.isEmpty, "README lists settings no role reads: \(neverRead.sorted())")
    }

    @Test func everyDefaultARoleTakesIsTheOneReadmeGives() async throws {
        for (role, values) in try await readsOfEveryRole() {
            for case let (name, value?) in values where value.source == .default {
                let row = try #require(SettingsCatalog.all.first { $0.names.contains(name) })
                // `todo serve` notes both roles' defaults of a setting it reads twice.
                for text in value.text.components(separatedBy: ", ") {
                    #expect(row.defaultValue.contains("`\(text)`"), "\(role): \(name) defaults to \(text), README says \(row.defaultValue)")
                }
            }
        }
    }
}
