import Foundation
import Testing
import TodoTestSupport
import TodoClient
import TodoCore

/// Export and import of all tasks, and the assistant (the backend's built-in offline agent).
@Suite struct TransferAndChatCallTests {
    @Test func anExportImportedIntoAnotherAccountGivesTheSameTasks() async throws {
        try await LiveBackend.run { backend in
            let (_, source) = try await backend.signUp()
            let fields = [
                TaskCallTests.everyField,
                TaskFields(title: "Done already", completed: true, tags: ["old"]),
            ]
            for item in fields { _ = try await backend.client.createTask(token: source, fields: item) }
            let body = try await backend.client.exportTasks(token: source).collect(upTo: 1 << 20)
            let document = try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
            let object = try #require(document.objectValue)
            #expect(object["format"] == .string("todo-export"))
            #expect(object["version"] == .integer(2))

            let (_, target) = try await backend.signUp()
            #expect(try await backend.client.importTasks(token: target, document: document) == 2)
            let original = try await backend.client.listTasks(token: source).items
            let copied = try await backend.client.listTasks(token: target).items
            #expect(Set(copied.map(\.id)).isDisjoint(with: original.map(\.id)))
            #expect(copied.map(\.fields) == original.map(\.fields))
            #expect(copied.map(\.completedAt) == original.map(\.completedAt))
            #expect(copied.map(\.createdAt) == original.map(\.createdAt))
        }
    }

    @Test func importingABrokenDocumentThrowsValidationNamingTheTaskAndFieldAndAddsNothing() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let document: JSONValue = .object([
                "format": "todo-export", "version": .integer(1),
                "tasks": .array([.object(["title": "Fine"]), .object(["title": .integer(3)])]),
            ])
            let error = await clientError { try await backend.client.importTasks(token: token, document: document) }
            #expect(error?.fields == ["tasks[1].title"])
            #expect(try await backend.client.listTasks(token: token).items.isEmpty)
        }
    }

    @Test func anImportLargerThanTheBackendAcceptsIsRejectedWithItsStatusAndCode() async throws {
        try await LiveBackend.run(configure: { $0.maxImportSize = 1024 }) { backend in
            let (_, token) = try await backend.signUp()
            let tasks = (1...40).map { JSONValue.object(["title": .string("Imported task number \($0)")]) }
            let document: JSONValue = .object(["format": "todo-export", "version": .integer(1), "tasks": .array(tasks)])
            let error = await clientError { try await backend.client.importTasks(token: token, document: document) }
            guard case .rejected(let status, let problem)? = error else {
                Issue.record("expected rejected, got \(String(describing: error))")
                return
            }
            #expect(status == 413)
            #expect(!problem.code.isEmpty && problem.code != "unknown")
        }
    }

    @Test func theOfflineAssistantAnswersAndTheConversationContinuesUnderItsID() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let first = try await backend.client.chat(token: token, message: "help", timeZone: "Europe/Berlin")
            #expect(!first.conversationID.isEmpty)
            #expect(first.response.contains("offline assistant"))
            let second = try await backend.client.chat(token: token, message: "what can you do?", conversationID: first.conversationID)
            #expect(second.conversationID == first.conversationID)
            #expect(second.response == first.response)
        }
    }

    @Test func chattingInAnUnknownConversationThrowsNotFound() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let error = await clientError { try await backend.client.chat(token: token, message: "hi", conversationID: UUID().uuidString.lowercased()) }
            #expect(error == .notFound)
        }
    }

    @Test func anUnknownTimeZoneThrowsValidationNamingIt() async throws {
        try await LiveBackend.run { backend in
            let (_, token) = try await backend.signUp()
            let error = await clientError { try await backend.client.chat(token: token, message: "hi", timeZone: "Mars/Olympus") }
            #expect(error?.fields == ["time_zone"])
        }
    }
}
