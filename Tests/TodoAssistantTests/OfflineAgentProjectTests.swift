import Foundation
import Testing
@testable import TodoAssistant
import TodoCore

/// Projects in the offline agent's requests: "add milk to Groceries", "+Groceries", "what is in
/// Groceries?". The user's projects are the `TaskBook`'s: Inbox, Groceries, Home Office.
@Suite struct OfflineAgentProjectTests {
    typealias Fixture = OfflineAgentFixture
    typealias Book = TaskBook

    static let listProjects = Call(name: "list_projects", arguments: [:])

    static func add(_ title: String, project: String) -> Call {
        Call(name: "add_task", arguments: ["title": .string(title), "project": .string(project)])
    }

    static func task(_ title: String, in project: String?) -> [String: JSONValue] {
        Book.task(title).merging(project.map { ["project": .string($0)] } ?? [:]) { $1 }
    }

    @Test(arguments: ["add milk to Groceries", "add milk to groceries", "add milk to my Groceries list", "add milk on the groceries list"])
    func aTitleEndingInAProjectOfTheUsersGoesThere(_ message: String) async {
        let exchange = await Fixture.converse(message)
        #expect(exchange.calls == [Self.listProjects, Self.add("milk", project: "Groceries")])
        #expect(exchange.reply == "Added “milk” (task 1) to Groceries.")
    }

    @Test func aTitleEndingInAPlaceThatIsNoProjectStaysWhole() async {
        let exchange = await Fixture.converse("add go to the gym")
        #expect(exchange.calls == [Self.listProjects, .add("go to the gym")])
        #expect(exchange.reply == "Added “go to the gym” (task 1).")
    }

    @Test func aProjectNameOfSeveralWordsIsFound() async {
        let exchange = await Fixture.converse("add buy paper to Home Office tomorrow")
        #expect(exchange.calls == [Self.listProjects, Call(name: "add_task", arguments: [
            "title": "buy paper", "project": "Home Office", "due_at": "2026-11-24T09:00:00.000Z",
        ])])
    }

    @Test(arguments: [("add milk +Groceries", "Groceries"), ("add paper +\"Home Office\" !high", "Home Office")])
    func aPlusNamesTheProjectWithoutAsking(_ message: String, _ project: String) async {
        let exchange = await Fixture.converse(message)
        #expect(exchange.calls.map(\.name) == ["add_task"])
        #expect(exchange.calls.first?.arguments["project"] == .string(project))
        #expect(exchange.reply.hasSuffix(" to \(project)."))
    }

    @Test func aPlusNamingNoProjectSaysSoAndAddsNothing() async {
        let book = Book()
        let exchange = await Fixture.converse("add milk +Narnia", with: book)
        #expect(exchange.reply.hasPrefix("I couldn't do that: no project named"))
        #expect(await book.tasks.isEmpty)
    }

    @Test(arguments: ["what is in Groceries?", "what's in groceries", "what's on my Groceries list?", "show tasks in Groceries"])
    func aProjectsTasksAreListed(_ message: String) async {
        let book = Book([Self.task("milk", in: "Groceries"), Self.task("report", in: nil), Self.task("eggs", in: "Groceries")])
        let exchange = await Fixture.converse(message, with: book)
        #expect(exchange.calls.map(\.name) == ["list_tasks"])
        #expect(exchange.calls.first?.arguments["project"].map { "\($0)".lowercased().contains("groceries") } == true)
        #expect(exchange.reply.hasPrefix("You have 2 tasks in "))
        #expect(exchange.reply.hasSuffix("• “milk” (task 1)\n• “eggs” (task 3)"))
    }

    @Test func aFilterAndAProjectCombine() async {
        let book = Book([Self.task("milk", in: "Groceries"), Book.task("eggs", completed: true).merging(["project": "Groceries"]) { $1 }])
        let exchange = await Fixture.converse("what's pending in Groceries?", with: book)
        #expect(exchange.calls == [.list(["status": "pending", "project": "Groceries"])])
        #expect(exchange.reply == "You have 1 pending task in Groceries:\n• “milk” (task 1)")
    }

    @Test func askingAboutAProjectTheUserLacksSaysSo() async {
        let exchange = await Fixture.converse("what is in Narnia?")
        #expect(exchange.calls == [.list(["project": "Narnia"])])
        #expect(exchange.reply.hasPrefix("I couldn't do that: no project named"))
    }

    @Test(arguments: ["show me a picture of a cat in Paris", "what's the weather like in Berlin?"])
    func aQuestionWithAPlaceThatIsNoListRequestGetsTheHelp(_ message: String) async {
        let exchange = await Fixture.converse(message)
        #expect(exchange.calls.isEmpty)
        #expect(exchange.reply == OfflineChatModel.help)
    }
}
