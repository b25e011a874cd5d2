import Foundation
import Testing
@testable import TodoAssistant
import TodoCore

/// Whole turns through the real tool loop (`Agent`): every tool call the offline agent makes,
/// in order, and the answer it gives for the results it gets. The tools are an in-memory
/// `TaskBook`; the clock is Monday 2026-11-23, 15:00 UTC.
@Suite struct OfflineAgentConversationTests {
    typealias Fixture = OfflineAgentFixture
    typealias Book = TaskBook

    // MARK: Adding

    @Test func addingConfirmsTheNewTaskWithItsDetails() async {
        let exchange = await Fixture.converse("add buy milk tomorrow 9am !high #shop")
        #expect(exchange.calls == [.add("buy milk", priority: "high", tags: ["shop"], due: "2026-11-24T09:00:00.000Z")])
        #expect(exchange.reply == "Added “buy milk” (task 1), due Tue 24 Nov 2026, 09:00, high priority, #shop.")
    }

    @Test func addingAPlainTaskConfirmsItsTitleAndNumber() async {
        let exchange = await Fixture.converse("add buy milk", with: Book(titles: ["walk dog"]))
        #expect(exchange.calls == [.add("buy milk")])
        #expect(exchange.reply == "Added “buy milk” (task 2).")
    }

    @Test func theConfirmationGivesTheDueTimeInTheUsersTimeZone() async {
        let exchange = await Fixture.converse("add call mum tomorrow 9am", zone: "Europe/Berlin")
        #expect(exchange.calls == [.add("call mum", due: "2026-11-24T08:00:00.000Z")])
        #expect(exchange.reply == "Added “call mum” (task 1), due Tue 24 Nov 2026, 09:00.")
    }

    // MARK: Listing and searching

    @Test func pendingTasksAreListedOneALine() async {
        let book = Book([Book.task("a"), Book.task("b", completed: true), Book.task("c")])
        let exchange = await Fixture.converse("what's pending?", with: book)
        #expect(exchange.calls == [.list(["status": "pending"])])
        #expect(exchange.reply == "You have 2 pending tasks:\n• “a” (task 1)\n• “c” (task 3)")
    }

    @Test func oneTaskIsCountedInTheSingular() async {
        let exchange = await Fixture.converse("what's pending?", with: Book([Book.task("a"), Book.task("b", completed: true)]))
        #expect(exchange.reply == "You have 1 pending task:\n• “a” (task 1)")
    }

    @Test func completedTasksAreTickedInAFullList() async {
        let exchange = await Fixture.converse("show my tasks", with: Book([Book.task("a"), Book.task("b", completed: true)]))
        #expect(exchange.calls == [.list()])
        #expect(exchange.reply == "You have 2 tasks:\n• “a” (task 1)\n• ✓ “b” (task 2)")
    }

    @Test func eachListedTaskShowsItsDueTimePriorityAndTags() async {
        let book = Book([Book.task("pay rent", priority: "high", tags: ["home", "bills"], due: "2026-11-24T09:00:00.000Z")])
        let exchange = await Fixture.converse("list tasks", with: book)
        #expect(exchange.reply == "You have 1 task:\n• “pay rent” (task 1), due Tue 24 Nov 2026, 09:00, high priority, #home #bills")
    }

    @Test func anEmptyListIsSaidPlainly() async {
        let exchange = await Fixture.converse("which tasks are left?", with: Book([Book.task("done", completed: true)]))
        #expect(exchange.calls == [.list(["status": "pending"])])
        #expect(exchange.reply == "You have no pending tasks.")
    }

    @Test func aLongListShowsTwentyTasksAndCountsTheRest() async {
        let exchange = await Fixture.converse("show my tasks", with: Book(titles: (1...25).map { "task \($0)" }))
        let lines = exchange.reply.split(separator: "\n")
        #expect(lines.first == "You have 25 tasks:")
        #expect(lines.count == 22)
        #expect(lines[20] == "• “task 20” (task 20)")
        #expect(lines.last == "…and 5 more.")
    }

    @Test(arguments: [
        ("list high priority tasks", "You have 1 high-priority task:\n• “b” (task 2), high priority"),
        ("show tasks tagged work", "You have 1 tagged #work task:\n• “a” (task 1), #work"),
        ("what's overdue?", "You have 1 overdue task:\n• “c” (task 3), due Fri 20 Nov 2026, 09:00"),
        ("show completed tasks", "You have 1 completed task:\n• ✓ “d” (task 4)"),
    ])
    func theAnswerSaysWhichTasksItListed(_ message: String, _ reply: String) async {
        let book = Book([
            Book.task("a", tags: ["work"]), Book.task("b", priority: "high"), Book.task("c", due: "2026-11-20T09:00:00.000Z"),
            Book.task("d", completed: true),
        ])
        #expect(await Fixture.converse(message, with: book).reply == reply)
    }

    @Test func searchResultsAreListedWithTheQuery() async {
        let exchange = await Fixture.converse("find milk", with: Book(titles: ["buy milk", "walk dog", "oat milk"]))
        #expect(exchange.calls == [.search("milk")])
        #expect(exchange.reply == "You have 2 tasks matching “milk”:\n• “buy milk” (task 1)\n• “oat milk” (task 3)")
    }

    @Test func oneSearchResultIsCountedInTheSingular() async {
        let exchange = await Fixture.converse("find dentist", with: Book(titles: ["book dentist", "walk dog"]))
        #expect(exchange.reply == "You have 1 task matching “dentist”:\n• “book dentist” (task 1)")
    }

    @Test func aSearchWithoutResultsSaysSo() async {
        let exchange = await Fixture.converse("look for nothing-like-this", with: Book(titles: ["x"]))
        #expect(exchange.calls == [.search("nothing-like-this")])
        #expect(exchange.reply == "You have no tasks matching “nothing-like-this”.")
    }

    // MARK: Acting on a task by number

    @Test func completingByNumberCallsTheToolAtOnceAndConfirms() async {
        let book = Book(titles: ["buy milk"])
        let exchange = await Fixture.converse("complete task 1", with: book)
        #expect(exchange.calls == [.complete(1)])
        #expect(exchange.reply == "Marked “buy milk” (task 1) as done.")
        #expect(await book.tasks.first?["completed"] == .bool(true))
    }

    @Test func reopeningByNumberConfirms() async {
        let exchange = await Fixture.converse("reopen task 1", with: Book([Book.task("a", completed: true)]))
        #expect(exchange.calls == [.reopen(1)])
        #expect(exchange.reply == "Reopened “a” (task 1).")
    }

    @Test func deletingByNumberAsksFirstAndChangesNothing() async {
        let book = Book(titles: ["a", "b"])
        let exchange = await Fixture.converse("delete task 1", with: book)
        #expect(exchange.calls == [])
        #expect(exchange.reply == "Before I go ahead, please confirm. I would:\n• delete task 1\nReply “yes” to do this; anything else cancels it.")
        #expect(await book.tasks.count == 2)
    }

    @Test func deletingByNumberRunsOnceConfirmedAndSaysTheNumber() async {
        let book = Book(titles: ["a", "b"])
        let (_, exchange) = await Fixture.converseConfirming("delete task 1", with: book)
        #expect(exchange.calls == [.delete(1)])
        #expect(exchange.reply == "Deleted task 1.")
        #expect(await book.tasks.map { $0["title"] } == ["b"])
    }

    @Test(arguments: [
        ("rename task 1 to Buy oat milk", Call.update(1, ["title": "Buy oat milk"]), "Updated “Buy oat milk” (task 1): renamed it to “Buy oat milk”."),
        ("set priority of task 1 to high", .update(1, ["priority": "high"]), "Updated “buy milk” (task 1): set its priority to high."),
        ("make task 1 low priority", .update(1, ["priority": "low"]), "Updated “buy milk” (task 1): set its priority to low."),
        ("move task 1 to tomorrow 10am", .update(1, ["due_at": "2026-11-24T10:00:00.000Z"]),
         "Updated “buy milk” (task 1): moved it to Tue 24 Nov 2026, 10:00."),
    ] as [(String, Call, String)])
    func anUpdateSaysWhatChanged(_ message: String, _ call: Call, _ reply: String) async {
        let exchange = await Fixture.converse(message, with: Book(titles: ["buy milk"]))
        #expect(exchange.calls == [call])
        #expect(exchange.reply == reply)
    }

    @Test func theNewDueTimeIsSaidInTheUsersTimeZone() async {
        let exchange = await Fixture.converse("move task 1 to friday 6pm", with: Book(titles: ["dentist"]), zone: "America/New_York")
        #expect(exchange.calls == [.update(1, ["due_at": "2026-11-27T23:00:00.000Z"])])
        #expect(exchange.reply == "Updated “dentist” (task 1): moved it to Fri 27 Nov 2026, 18:00.")
    }

    // MARK: Acting on a task by title

    @Test(arguments: [
        ("mark 'buy milk' done", [Call.search("buy milk"), .complete(1)], "Marked “buy milk” (task 1) as done."),
        ("mark 'buy milk' as not done", [.search("buy milk"), .reopen(1)], "Reopened “buy milk” (task 1)."),
        ("rename 'buy milk' to Buy oat milk", [.search("buy milk"), .update(1, ["title": "Buy oat milk"])],
         "Updated “Buy oat milk” (task 1): renamed it to “Buy oat milk”."),
        ("make 'buy milk' high priority", [.search("buy milk"), .update(1, ["priority": "high"])],
         "Updated “buy milk” (task 1): set its priority to high."),
        ("move 'buy milk' to tomorrow 10am", [.search("buy milk"), .update(1, ["due_at": "2026-11-24T10:00:00.000Z"])],
         "Updated “buy milk” (task 1): moved it to Tue 24 Nov 2026, 10:00."),
    ] as [(String, [Call], String)])
    func aTitleMatchingOneTaskIsSearchedThenActedOn(_ message: String, _ calls: [Call], _ reply: String) async {
        let exchange = await Fixture.converse(message, with: Book(titles: ["buy milk", "walk dog"]))
        #expect(exchange.calls == calls)
        #expect(exchange.reply == reply)
    }

    @Test(arguments: [
        ("remove 'buy milk'", [Call.search("buy milk"), .delete(1)], "• delete “buy milk” (task 1)", "Deleted “buy milk” (task 1)."),
        ("delete the walk dog task", [.search("walk dog"), .delete(2)], "• delete “walk dog” (task 2)", "Deleted “walk dog” (task 2)."),
    ] as [(String, [Call], String, String)])
    func aDeletionByTitleIsSearchedThenNamedInTheQuestionThenRunOnceConfirmed(
        _ message: String, _ calls: [Call], _ line: String, _ reply: String
    ) async {
        let (question, exchange) = await Fixture.converseConfirming(message, with: Book(titles: ["buy milk", "walk dog"]))
        #expect(question.contains("\n\(line)\n"))
        #expect(exchange.calls == calls)
        #expect(exchange.reply == reply)
    }

    @Test func anExactTitleWinsOverLongerTitlesThatContainIt() async {
        let exchange = await Fixture.converse("mark 'BUY MILK' done", with: Book(titles: ["buy milk powder", "buy milk"]))
        #expect(exchange.calls == [.search("BUY MILK"), .complete(2)])
    }

    @Test func aSingleLongerTitleThatContainsTheWordsIsActedOn() async {
        let exchange = await Fixture.converse("complete dentist", with: Book(titles: ["book dentist", "walk dog"]))
        #expect(exchange.calls == [.search("dentist"), .complete(1)])
        #expect(exchange.reply == "Marked “book dentist” (task 1) as done.")
    }

    @Test func aTitleMatchingSeveralTasksIsAskedAboutAndNothingChanges() async {
        let book = Book(titles: ["buy milk", "oat milk"])
        let exchange = await Fixture.converse("mark 'milk' done", with: book)
        #expect(exchange.calls == [.search("milk")])
        #expect(exchange.reply == "Several tasks match “milk”:\n• “buy milk” (task 1)\n• “oat milk” (task 2)\nWhich one? Name it by its number, e.g. “task 12”.")
        #expect(await book.tasks.allSatisfy { $0["completed"] == .bool(false) })
    }

    @Test func aQuestionAboutSeveralMatchesOffersAtMostFive() async {
        let exchange = await Fixture.converse("delete 'milk'", with: Book(titles: (1...7).map { "milk \($0)" }))
        #expect(exchange.calls == [.search("milk")])
        #expect(exchange.reply.split(separator: "\n").filter { $0.hasPrefix("• ") }.count == 5)
    }

    @Test func aTitleMatchingNothingIsSaidPlainlyAndNothingChanges() async {
        let book = Book(titles: ["a"])
        let exchange = await Fixture.converse("complete 'nothing like this'", with: book)
        #expect(exchange.calls == [.search("nothing like this")])
        #expect(exchange.reply == "I couldn't find a task matching “nothing like this”.")
        #expect(await book.tasks.first?["completed"] == .bool(false))
    }

    // MARK: Failures

    @Test func aToolErrorIsPassedOnInTheAnswer() async {
        let (_, exchange) = await Fixture.converseConfirming("delete task 999999", with: Book(titles: ["a"]))
        #expect(exchange.calls == [.delete(999_999)])
        #expect(exchange.reply == "I couldn't do that: No such task (it may have been deleted, or belong to someone else).")
    }

    @Test func aToolErrorWithoutAFullStopGetsOne() async {
        let exchange = await Fixture.converse("add buy milk", with: Book(failing: ["add_task": "title must be 1 to 200 characters"]))
        #expect(exchange.reply == "I couldn't do that: title must be 1 to 200 characters.")
    }

    @Test func aFailedSearchForATitleIsPassedOnAndNothingElseIsCalled() async {
        let book = Book(failing: ["search_tasks": "The task service is unreachable right now; try again shortly."])
        let exchange = await Fixture.converse("mark 'buy milk' done", with: book)
        #expect(exchange.calls == [.search("buy milk")])
        #expect(exchange.reply == "I couldn't look that up: The task service is unreachable right now; try again shortly.")
    }

    /// The error's own words (which can carry internals) go to the log, not to the model or the user.
    @Test func aToolThatThrowsBecomesAnErrorTheAgentPassesOnWithoutItsDetails() async {
        let exchange = await Fixture.converse("add buy milk", with: Book(throwing: ["add_task"]))
        #expect(exchange.calls == [.add("buy milk")])
        #expect(exchange.reply == "I couldn't do that: The tool add_task failed.")
    }

    @Test func unreachableToolsGiveAFriendlyAnswerAndNoCalls() async {
        let exchange = await Fixture.converse("add buy milk", with: Book(unavailable: true))
        #expect(exchange.calls.isEmpty)
        #expect(exchange.reply == "Sorry, the assistant is unavailable right now. Please try again in a moment.")
    }

    // MARK: The turn

    @Test func helpIsAnsweredWithoutTools() async {
        let exchange = await Fixture.converse("tell me a joke", with: Book(titles: ["a"]))
        #expect(exchange.calls.isEmpty)
        #expect(exchange.reply == OfflineChatModel.help)
        #expect(exchange.messages.map(\.role) == [.user, .assistant])
    }

    @Test func aTurnStoresEachToolCallAndItsResult() async {
        let exchange = await Fixture.converse("mark 'a' done", with: Book(titles: ["a"]))
        #expect(exchange.messages.map(\.role) == [.user, .assistant, .tool, .assistant, .tool, .assistant])
        #expect(exchange.messages.flatMap(\.toolCalls).map(\.name) == ["search_tasks", "complete_task"])
        #expect(exchange.messages.last?.content == exchange.reply)
    }

    @Test func aNewMessageIsPlannedAfreshAfterEarlierToolCalls() async throws {
        let now = Fixture.now
        let earlierSearch = ToolCall(id: "call_1", name: "search_tasks", arguments: .object(["query": "milk"]),
                                     result: .object(["tasks": .array([.object(["id": "1", "title": "buy milk"])])]))
        let messages = [
            ChatMessage(role: .user, content: "find milk", createdAt: now),
            ChatMessage(role: .assistant, content: "", toolCalls: [earlierSearch], createdAt: now),
            ChatMessage(role: .tool, content: "1 task(s)", toolCallID: "call_1", createdAt: now),
            ChatMessage(role: .assistant, content: "You have 1 task matching “milk”", createdAt: now),
            ChatMessage(role: .user, content: "mark 'milk' done", createdAt: now),
        ]
        let reply = try await OfflineChatModel().complete(messages: messages, tools: TaskBook.specs, context: Fixture.context())
        #expect(reply.toolCalls.map(Call.init) == [.search("milk")])
    }

    @Test func aConversationWithoutAUserMessageGetsTheHelpText() async throws {
        let reply = try await OfflineChatModel().complete(messages: [], tools: TaskBook.specs, context: Fixture.context())
        #expect(reply == ModelReply(content: OfflineChatModel.help))
    }

    @Test func eachToolCallHasItsOwnID() async throws {
        let first = try await Fixture.firstMove("add a")
        let second = try await Fixture.firstMove("add a")
        #expect(first.toolCalls[0].id.hasPrefix("call_add_task_"))
        #expect(first.toolCalls[0].id != second.toolCalls[0].id)
    }
}

@Suite struct LogRedactionTests {
    @Test(arguments: [
        "the model provider answered 401: {\"error\": \"Incorrect API key provided: sk-proj-abc123DEF456\"}",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig failed",
        "retrying with api_key=gsk_live_0123456789abcdef",
        "token todo_pat_AbCdEf0123456789 was refused",
        "{\"api_key\": \"plain-secret-value\"}",
    ])
    func secretsNeverReachTheLog(_ text: String) {
        let redacted = LogRedaction.redact(text)
        for secret in ["sk-proj-abc123DEF456", "eyJhbGciOiJIUzI1NiJ9", "gsk_live_0123456789abcdef", "todo_pat_AbCdEf0123456789", "plain-secret-value"] {
            #expect(!redacted.contains(secret))
        }
        #expect(redacted.contains("[redacted]"))
    }
}
