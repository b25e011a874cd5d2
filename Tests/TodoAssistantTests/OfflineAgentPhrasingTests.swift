import Foundation
import Testing
@testable import TodoAssistant
import TodoCore

/// Every phrasing family the offline agent recognises, pinned to the first tool call it makes.
/// Requests that name a task by title first search for it; what follows the search is pinned in
/// `OfflineAgentConversationTests`. The clock is Monday 2026-11-23, 15:00 UTC.
@Suite struct OfflineAgentPhrasingTests {
    typealias Fixture = OfflineAgentFixture

    // MARK: Adding

    @Test(arguments: [
        "add call mum", "add task call mum", "add task: call mum", "add a task call mum", "add a task: call mum",
        "add a new task call mum", "add a new task: call mum", "add new task call mum",
        "create call mum", "create task call mum", "create a task call mum", "create a task: call mum",
        "new task call mum", "new task: call mum", "todo: call mum", "remind me to call mum",
        "I need to call mum", "I have to call mum", "I must call mum", "don't forget to call mum", "do not forget to call mum",
        "Add call mum", "ADD TASK: call mum", "  add call mum  ", "add call mum.", "add call mum?!", "add    call mum",
    ])
    func everyAddPhrasingAddsTheRestAsTheTitle(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.add("call mum")])
    }

    @Test func anAddedTitleKeepsTheUsersCapitalisation() async throws {
        #expect(try await Fixture.firstCalls("add Call Mum about the iPhone") == [.add("Call Mum about the iPhone")])
    }

    @Test(arguments: [
        ("add pay rent !high", "high"), ("add pay rent !HIGH", "high"), ("add pay rent !medium", "medium"),
        ("add pay rent !med", "medium"), ("add pay rent !low", "low"), ("add !!! pay rent", "high"), ("add !! pay rent", "medium"),
        ("add !low pay rent", "low"),
    ])
    func priorityWordsSetThePriorityOfANewTask(_ message: String, _ priority: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.add("pay rent", priority: priority)])
    }

    @Test(arguments: [
        ("add pay rent #home", ["home"]), ("add pay rent #Home", ["home"]), ("add pay rent #home #bills", ["home", "bills"]),
        ("add pay rent #home #HOME", ["home"]), ("add #home pay rent", ["home"]), ("add pay rent #🏠", ["🏠"]),
    ])
    func hashWordsBecomeLowercaseTagsOfANewTask(_ message: String, _ tags: [String]) async throws {
        #expect(try await Fixture.firstCalls(message) == [.add("pay rent", tags: tags)])
    }

    @Test func aLoneHashStaysInTheTitle() async throws {
        #expect(try await Fixture.firstCalls("add call mum # later") == [.add("call mum # later")])
    }

    @Test(arguments: [
        ("add call mum today", "2026-11-23T09:00:00.000Z"),
        ("add call mum tonight", "2026-11-23T20:00:00.000Z"),
        ("add call mum tomorrow", "2026-11-24T09:00:00.000Z"),
        ("add call mum tmrw", "2026-11-24T09:00:00.000Z"),
        ("add call mum tomorrow 9am", "2026-11-24T09:00:00.000Z"),
        ("add call mum tomorrow at 6:30pm", "2026-11-24T18:30:00.000Z"),
        ("add call mum friday", "2026-11-27T09:00:00.000Z"),
        ("add call mum on fri", "2026-11-27T09:00:00.000Z"),
        ("add call mum on wednesday at 17:30", "2026-11-25T17:30:00.000Z"),
        ("add call mum monday", "2026-11-30T09:00:00.000Z"),
        ("add call mum next monday", "2026-11-30T09:00:00.000Z"),
        ("add call mum next week", "2026-11-30T09:00:00.000Z"),
        ("add call mum in 3 days", "2026-11-26T09:00:00.000Z"),
        ("add call mum in 2 weeks", "2026-12-07T09:00:00.000Z"),
        ("add call mum in 1 month", "2026-12-23T09:00:00.000Z"),
        ("add call mum 2026-12-01", "2026-12-01T09:00:00.000Z"),
        ("add call mum dec 5", "2026-12-05T09:00:00.000Z"),
        ("add call mum 5th december 8pm", "2026-12-05T20:00:00.000Z"),
        ("add call mum at 9", "2026-11-24T09:00:00.000Z"),
        ("add call mum 4pm", "2026-11-23T16:00:00.000Z"),
        ("add call mum 4pm.", "2026-11-23T16:00:00.000Z"),
        ("add call mum noon", "2026-11-24T12:00:00.000Z"),
        ("add call mum midnight", "2026-11-24T00:00:00.000Z"),
        ("remind me to call mum on friday", "2026-11-27T09:00:00.000Z"),
    ])
    func dateAndTimeWordsSetTheDueTimeOfANewTask(_ message: String, _ due: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.add("call mum", due: due)])
    }

    @Test func dueTimesAreReadInTheUsersTimeZone() async throws {
        #expect(try await Fixture.firstCalls("add call mum tomorrow 9am", zone: "Europe/Berlin")
            == [.add("call mum", due: "2026-11-24T08:00:00.000Z")])
        #expect(try await Fixture.firstCalls("add call mum tomorrow 9am", zone: "America/New_York")
            == [.add("call mum", due: "2026-11-24T14:00:00.000Z")])
    }

    @Test(arguments: [
        ("new task: water plants every 2 weeks", "water plants", "2026-11-23T09:00:00.000Z", "weekly", 2),
        ("add standup daily 9am", "standup", "2026-11-24T09:00:00.000Z", "daily", 1),
        ("add bins every monday", "bins", "2026-11-23T09:00:00.000Z", "weekly", 1),
        ("add backup every other day", "backup", "2026-11-23T09:00:00.000Z", "daily", 2),
        ("add pay rent every month", "pay rent", "2026-11-23T09:00:00.000Z", "monthly", 1),
    ] as [(String, String, String, String, Int64)])
    func repetitionWordsMakeARepeatingTask(_ message: String, _ title: String, _ due: String, _ frequency: String, _ interval: Int64) async throws {
        let recurrence: JSONValue = .object(["frequency": .string(frequency), "interval": .integer(interval), "timezone": "UTC"])
        #expect(try await Fixture.firstCalls(message) == [.add(title, due: due, recurrence: recurrence)])
    }

    @Test func aRepeatingTaskRepeatsInTheUsersTimeZone() async throws {
        let calls = try await Fixture.firstCalls("add standup daily 9am", zone: "Europe/Berlin")
        #expect(calls.first?.arguments["recurrence"]?.objectValue?["timezone"] == "Europe/Berlin")
    }

    @Test func everyOptionTogetherFillsEveryField() async throws {
        #expect(try await Fixture.firstCalls("add buy milk tomorrow 9am !high #shop")
            == [.add("buy milk", priority: "high", tags: ["shop"], due: "2026-11-24T09:00:00.000Z")])
    }

    // MARK: Listing

    @Test(arguments: [
        "show my tasks", "list tasks", "list my tasks", "my tasks", "tasks", "what's on my agenda", "display everything",
        "how many tasks do I have?", "which tasks do I have", "What are my tasks?", "agenda", "do I have anything on?",
    ])
    func askingForTasksListsThemAll(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.list()])
    }

    @Test(arguments: [
        "what's pending?", "what do I have to do?", "show my todo list", "show open tasks", "show outstanding tasks",
        "which tasks are left?", "what's remaining", "show unfinished tasks", "what's not done", "list pending tasks", "todo?",
    ])
    func askingWhatIsLeftListsPendingTasks(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.list(["status": "pending"])])
    }

    @Test(arguments: ["show completed tasks", "what's done?", "what did I finish", "show closed tasks", "list done tasks"])
    func askingWhatIsDoneListsCompletedTasks(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.list(["status": "completed"])])
    }

    @Test(arguments: [
        ("list high priority tasks", "high"), ("show medium priority tasks", "medium"), ("show low priority tasks", "low"),
        ("list !high tasks", "high"), ("list !medium tasks", "medium"), ("which tasks are !low", "low"),
    ])
    func aPriorityInTheQuestionFiltersByPriority(_ message: String, _ priority: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.list(["priority": .string(priority)])])
    }

    @Test(arguments: [
        ("show tasks tagged work", "work"), ("show tasks tagged Work?", "work"), ("tasks with tag errands", "errands"),
        ("show #work tasks", "work"), ("list tasks #Home", "home"),
    ])
    func aTagInTheQuestionFiltersByTag(_ message: String, _ tag: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.list(["tag": .string(tag)])])
    }

    @Test func filtersCombine() async throws {
        #expect(try await Fixture.firstCalls("show pending high priority tasks tagged work")
            == [.list(["status": "pending", "priority": "high", "tag": "work"])])
    }

    @Test(arguments: [
        ("what's overdue?", ["status": "pending", "due_before": "2026-11-23T15:00:00.000Z", "sort": "due"]),
        ("what's due today?", ["due_after": "2026-11-23T00:00:00.000Z", "due_before": "2026-11-24T00:00:00.000Z", "sort": "due"]),
        ("what's due tomorrow", ["due_after": "2026-11-24T00:00:00.000Z", "due_before": "2026-11-25T00:00:00.000Z", "sort": "due"]),
        ("what's due this week", ["due_after": "2026-11-23T00:00:00.000Z", "due_before": "2026-11-30T00:00:00.000Z", "sort": "due"]),
        ("show pending tasks due today",
         ["status": "pending", "due_after": "2026-11-23T00:00:00.000Z", "due_before": "2026-11-24T00:00:00.000Z", "sort": "due"]),
        ("show overdue tasks tagged work",
         ["status": "pending", "tag": "work", "due_before": "2026-11-23T15:00:00.000Z", "sort": "due"]),
    ] as [(String, [String: JSONValue])])
    func aDueWordFiltersByDueTimeSortedByDueTime(_ message: String, _ arguments: [String: JSONValue]) async throws {
        #expect(try await Fixture.firstCalls(message) == [.list(arguments)])
    }

    @Test func overdueMeansPendingEvenWhenCompletedIsAskedFor() async throws {
        #expect(try await Fixture.firstCalls("show completed overdue tasks")
            == [.list(["status": "pending", "due_before": "2026-11-23T15:00:00.000Z", "sort": "due"])])
    }

    @Test func todayIsTheUsersDay() async throws {
        #expect(try await Fixture.firstCalls("what's due today", zone: "Europe/Berlin")
            == [.list(["due_after": "2026-11-22T23:00:00.000Z", "due_before": "2026-11-23T23:00:00.000Z", "sort": "due"])])
    }

    // MARK: Searching

    @Test(arguments: [
        "search for dentist", "search dentist", "find dentist", "look for dentist", "look up dentist", "anything about dentist",
        "do I have anything about dentist?", "is there a task about dentist?", "Find dentist.",
    ])
    func everySearchPhrasingSearchesForTheRest(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.search("dentist")])
    }

    @Test func aSearchKeepsTheQueryAsTyped() async throws {
        #expect(try await Fixture.firstCalls("find Dr. Müller's invoice") == [.search("Dr. Müller's invoice")])
    }

    // MARK: Completing and reopening

    @Test(arguments: [
        "complete task 3", "finish task 3", "check off task 3", "tick off task 3", "close task 3", "I finished task 3",
        "I completed task 3", "I did task 3", "done with task 3", "done: task 3",
        "mark task 3 done", "mark task 3 as done", "mark task 3 complete", "mark task 3 as complete", "mark task 3 completed",
        "mark task 3 as completed", "mark task 3 finished", "mark task 3 as finished", "set task 3 done", "set task 3 as done",
        "set task 3 as completed", "task 3 is done", "task 3 is finished", "Mark Task 3 Done!",
    ])
    func everyCompletionPhrasingCompletesTheTask(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.complete(3)])
    }

    @Test(arguments: [
        "reopen task 3", "uncomplete task 3", "un-complete task 3", "undo task 3",
        "mark task 3 as not done", "mark task 3 as incomplete", "mark task 3 as undone", "mark task 3 as pending",
        "mark task 3 as open", "mark task 3 not done", "mark task 3 incomplete", "mark task 3 undone",
    ])
    func everyReopeningPhrasingReopensTheTask(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.reopen(3)])
    }

    // MARK: Naming a task

    @Test(arguments: [
        ("complete 3", 3), ("complete task 3", 3), ("complete Task 3", 3), ("complete task #3", 3), ("complete task number 3", 3),
        ("complete task no. 3", 3), ("complete #3", 3), ("complete number 3", 3), ("complete no. 3", 3), ("complete task 3.", 3),
        ("complete task  42", 42), ("complete task 9223372036854775807", 9_223_372_036_854_775_807),
    ] as [(String, TaskID)])
    func aTaskNumberNamesTheTaskDirectly(_ message: String, _ id: TaskID) async throws {
        #expect(try await Fixture.firstCalls(message) == [.complete(id)])
    }

    @Test(arguments: [
        ("mark 'buy milk' done", "buy milk"), ("mark \"buy milk\" done", "buy milk"), ("mark “buy milk” done", "buy milk"),
        ("mark ‘buy milk’ done", "buy milk"), ("mark buy milk as done", "buy milk"), ("mark 'Buy Milk' done", "Buy Milk"),
        ("complete the buy milk task", "buy milk"), ("complete my buy milk todo", "buy milk"), ("complete task buy milk", "buy milk"),
        ("complete 'task 3'", "task 3"), ("buy milk is done", "buy milk"),
        ("finish “walk dog”", "walk dog"), ("I finished walk dog", "walk dog"),
    ])
    func aTitleIsLookedUpFirst(_ message: String, _ title: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.search(title)])
    }

    @Test(arguments: [
        ("complete task 0", "0"), ("complete task -1", "-1"), ("complete 0", "0"),
        ("complete task 99999999999999999999", "99999999999999999999"), ("complete task 3a", "3a"),
    ])
    func aNumberThatCannotBeATaskIDIsLookedUpAsATitle(_ message: String, _ title: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.search(title)])
    }

    // MARK: Deleting

    @Test(arguments: ["delete task 3", "remove task 3", "drop task 3", "get rid of task 3", "cancel task 3", "erase task 3", "Delete #3."])
    func everyDeletionPhrasingDeletesTheTask(_ message: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.delete(3)])
    }

    @Test(arguments: [("remove 'buy milk'", "buy milk"), ("delete the walk dog task", "walk dog"), ("cancel “dentist”", "dentist")])
    func deletingByTitleLooksTheTaskUpFirst(_ message: String, _ title: String) async throws {
        #expect(try await Fixture.firstCalls(message) == [.search(title)])
    }

    // MARK: Changing

    @Test(arguments: [
        ("rename task 3 to Buy oat milk", Call.update(3, ["title": "Buy oat milk"])),
        ("rename task 3 as Buy oat milk", .update(3, ["title": "Buy oat milk"])),
        ("Rename #3 to buy OAT milk!", .update(3, ["title": "buy OAT milk"])),
        ("rename 'buy milk' to Buy oat milk", .search("buy milk")),
    ] as [(String, Call)])
    func renamingChangesTheTitle(_ message: String, _ call: Call) async throws {
        #expect(try await Fixture.firstCalls(message) == [call])
    }

    @Test(arguments: [
        ("set priority of task 3 to high", Call.update(3, ["priority": "high"])),
        ("set the priority of task 3 to low", .update(3, ["priority": "low"])),
        ("change priority of task 3 to medium", .update(3, ["priority": "medium"])),
        ("change the priority of task 3 to none", .update(3, ["priority": "none"])),
        ("set priority of task 3 to HIGH", .update(3, ["priority": "high"])),
        ("make task 3 high priority", .update(3, ["priority": "high"])),
        ("make task 3 medium priority", .update(3, ["priority": "medium"])),
        ("make task 3 low priority", .update(3, ["priority": "low"])),
        ("make task 3 none priority", .update(3, ["priority": "none"])),
        ("make 'a' low priority", .search("a")),
        ("set priority of 'pay rent' to high", .search("pay rent")),
    ] as [(String, Call)])
    func priorityChangesSetThePriority(_ message: String, _ call: Call) async throws {
        #expect(try await Fixture.firstCalls(message) == [call])
    }

    @Test(arguments: [
        ("move task 3 to tomorrow 10am", Call.update(3, ["due_at": "2026-11-24T10:00:00.000Z"])),
        ("reschedule task 3 to friday", .update(3, ["due_at": "2026-11-27T09:00:00.000Z"])),
        ("postpone task 3 until next week", .update(3, ["due_at": "2026-11-30T09:00:00.000Z"])),
        ("push task 3 to in 3 days", .update(3, ["due_at": "2026-11-26T09:00:00.000Z"])),
        ("move task 3 to dec 5 at 6pm", .update(3, ["due_at": "2026-12-05T18:00:00.000Z"])),
        ("move task 3 to 2027-01-15", .update(3, ["due_at": "2027-01-15T09:00:00.000Z"])),
        ("move task 3 to 8pm", .update(3, ["due_at": "2026-11-23T20:00:00.000Z"])),
        ("move 'dentist' to next monday", .search("dentist")),
    ] as [(String, Call)])
    func reschedulingSetsTheDueTime(_ message: String, _ call: Call) async throws {
        #expect(try await Fixture.firstCalls(message) == [call])
    }

    /// 15:00 UTC on Monday is already Tuesday in Tokyo, so "tomorrow" there is Wednesday.
    @Test func reschedulingReadsTheDayAndTimeInTheUsersTimeZone() async throws {
        #expect(try await Fixture.firstCalls("move task 3 to tomorrow 10am", zone: "Asia/Tokyo")
            == [.update(3, ["due_at": "2026-11-25T01:00:00.000Z"])])
    }

    // MARK: Help and requests it does not understand

    @Test(arguments: [
        "help", "Help!", "hi", "hello", "hey", "what can you do?", "how does this work?", "commands",
        "tell me a joke", "book me a flight to Rome", "thanks",
        "add", "add !high #shop tomorrow", "remind me to", "find", "undo", "mark task 3", "rename task 3",
        "move task 3 to the top", "set priority of task 3 to urgent", "make task 3 urgent priority",
    ])
    func aRequestItDoesNotUnderstandGetsTheHelpTextAndNoToolCall(_ message: String) async throws {
        let reply = try await Fixture.firstMove(message)
        #expect(reply.toolCalls.isEmpty)
        #expect(reply.content == OfflineChatModel.help)
    }

    @Test func theHelpTextSaysPlainlyWhatItIsAndWhatItCanDo() {
        let help = OfflineChatModel.help
        #expect(help.hasPrefix("I'm the built-in offline assistant: I follow a few patterns rather than free conversation."))
        for example in ["add buy milk tomorrow 9am !high #shop", "what's pending?", "find dentist", "mark 'buy milk' done",
                        "rename task 3 to Buy oat milk", "set priority of task 3 to high", "delete task 3"] {
            #expect(help.contains(example), "help mentions \(example)")
        }
        #expect(help.contains("configure a language model"))
    }

    @Test func everyExampleInTheHelpTextIsUnderstood() async throws {
        let examples = [
            "add buy milk tomorrow 9am !high #shop", "remind me to call mum on friday", "what's pending?", "show completed tasks",
            "list high priority tasks", "tasks tagged work", "find dentist", "mark 'buy milk' done", "complete task 3", "reopen task 3",
            "rename task 3 to Buy oat milk", "set priority of task 3 to high", "move 'dentist' to next monday", "delete task 3",
            "remove 'buy milk'",
        ]
        for example in examples {
            #expect(try await Fixture.firstCalls(example).count == 1, "\(example)")
        }
    }
}
