import Foundation
import HTTPTypes
import Testing
import TodoTestSupport
import TodoClient
import TodoCore
@testable import TodoWeb

/// The task list, quick add, complete, delete and the edit form, rendered from the live backend.
@Suite struct TaskPageTests {
    @Test func theListShowsACreatedTaskWithItsTitleEscapedAndItsTagsPriorityAndDueDate() async throws {
        try await WebHarness.run { web in
            var account = try await web.signedIn()
            account.timeZone = "Europe%2FBerlin"
            let due = Timestamp.now().adding(milliseconds: 86_400_000)
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(
                title: "Fish & <chips>", description: "Cod\nand more", priority: .high, tags: ["dinner"], dueAt: due))
            let page = try await web.request(.get, "/", cookies: account.cookies)
            #expect(page.status == .ok)
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(page.text.contains(#"data-task-id="\#(task.id)""#))
            #expect(page.text.contains("Fish &amp; &lt;chips&gt;"))
            #expect(!page.text.contains("<chips>"))
            #expect(page.text.contains("High priority"))
            #expect(page.text.contains(#"href="/?tag=dinner&amp;status=all">#dinner</a>"#))
            #expect(page.text.contains(#"datetime="\#(due.rfc3339)""#))
            let label = DueLabel(due, completed: false, now: .now(), calendar: PageSupport.calendar(TimeZone(identifier: "Europe/Berlin")!))
            #expect(page.text.contains(">\(label.text)</time>"))
            #expect(page.text.contains(#"<p class="task-description">Cod</p>"#))
            #expect(page.inputValue("tz") == "Europe/Berlin")
            #expect(page.text.contains(#"<body data-signed-in="true">"#))
        }
    }

    @Test func theListShowsOnlyWhatTheAddressFiltersFor() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            for (title, completed) in [("Open one", false), ("Finished one", true)] {
                _ = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: title, completed: completed))
            }
            let pending = try await web.request(.get, "/", cookies: account.cookies)
            #expect(pending.text.contains("Open one") && !pending.text.contains("Finished one"))
            let done = try await web.request(.get, "/?status=completed", cookies: account.cookies)
            #expect(!done.text.contains("Open one") && done.text.contains("Finished one"))
            let none = try await web.request(.get, "/?q=nothing+like+this", cookies: account.cookies)
            #expect(none.text.contains("No tasks match these filters."))
        }
    }

    @Test func aFilterTheBackendWouldRefuseAnswers400WithItsReason() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.get, "/?tag=two+words", cookies: account.cookies)
            #expect(reply.status == .badRequest)
            #expect(reply.text.contains("tag: must not contain spaces"))
        }
    }

    @Test func theListFragmentAloneIsRenderedForTheScript() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            _ = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Only the list"))
            let reply = try await web.request(.get, "/", cookies: account.cookies, headers: [.xFragment: "list"])
            #expect(reply.status == .ok)
            #expect(reply.text.contains("Only the list"))
            #expect(reply.text.contains("1 task"))
            #expect(!reply.text.contains("<html"))
        }
    }

    @Test func aFullPageLinksTheNextPageThroughTheBackendsCursor() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            for number in 1...(TaskPages.pageSize + 1) {
                _ = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: String(format: "Task %03d", number)))
            }
            let first = try await web.request(.get, "/?sort=title", cookies: account.cookies)
            #expect(first.text.contains("50+ tasks"))
            #expect(!first.text.contains("Task 051"))
            let more = try #require(first.firstMatch(#"<p class="more"><a class="button" href="([^"]+)""#)).replacingOccurrences(of: "&amp;", with: "&")
            #expect(more.hasPrefix("/?sort=title&cursor="))
            let second = try await web.request(.get, more, cookies: account.cookies)
            #expect(second.text.contains("Task 051"))
            #expect(!second.text.contains("Task 050"))
            #expect(!second.text.contains(#"class="more""#))
        }
    }

    // MARK: Quick add, toggle, delete

    @Test func quickAddCreatesTheParsedTaskInTheFormsTimeZoneAndGoesBack() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let reply = try await web.request(.post, "/tasks", cookies: account.cookies, form: [
                ("_csrf", account.csrf), ("text", "Pay rent tomorrow 9am !high #home"), ("tz", "Europe/Berlin"),
                ("return_to", "/?status=all"),
            ])
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/?status=all")
            let task = try #require(try await web.api.client.listTasks(token: account.token).items.first)
            #expect(task.fields.title == "Pay rent")
            #expect(task.fields.priority == .high)
            #expect(task.fields.tags == ["home"])
            let expected = QuickAdd.parse("tomorrow 9am", now: .now(), timeZone: TimeZone(identifier: "Europe/Berlin")!).dueAt
            #expect(task.fields.dueAt == expected)
        }
    }

    @Test func quickAddFromTheScriptAnswersJSONForSuccessAndForFailure() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let json: HTTPFields = [.accept: "application/json"]
            let added = try await web.request(.post, "/tasks", cookies: account.cookies, headers: json,
                                              form: [("_csrf", account.csrf), ("text", "Call Ann")])
            #expect(added.status == .created)
            #expect(added.json["message"] as? String == "Added “Call Ann”.")
            let id = try #require((added.json["id"] as? String).flatMap(TaskID.init))
            #expect(try await web.api.client.task(token: account.token, id: id).task.fields.title == "Call Ann")

            let tooLong = try await web.request(.post, "/tasks", cookies: account.cookies, headers: json,
                                                form: [("_csrf", account.csrf), ("text", String(repeating: "x", count: 250))])
            #expect(tooLong.status == .unprocessableContent)
            #expect(((tooLong.json["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("Title must be") == true)
        }
    }

    @Test func quickAddWithoutATitleShowsTheListAgainWith422KeepingTheText() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            for (text, message) in [("tomorrow 9am", "not only when"), ("   ", "Type a task first.")] {
                let reply = try await web.request(.post, "/tasks", cookies: account.cookies, form: [("_csrf", account.csrf), ("text", text)])
                #expect(reply.status == .unprocessableContent)
                #expect(reply.text.contains(message), "\(text)")
            }
            let kept = try await web.request(.post, "/tasks", cookies: account.cookies,
                                             form: [("_csrf", account.csrf), ("text", "tomorrow 9am"), ("return_to", "/?status=all")])
            #expect(kept.inputValue("text") == "tomorrow 9am")
            #expect(kept.text.contains(#"<option value="all" selected>"#))
            #expect(try await web.api.client.listTasks(token: account.token).items.isEmpty)
        }
    }

    @Test func theToggleFormSetsTheStateItNamesSoSendingItTwiceKeepsIt() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Twice"))
            for _ in 0..<2 {
                let reply = try await web.request(.post, "/tasks/\(task.id)/toggle", cookies: account.cookies,
                                                  form: [("_csrf", account.csrf), ("completed", "true"), ("return_to", "/?status=all")])
                #expect(reply.location == "/?status=all")
            }
            #expect(try await web.api.client.task(token: account.token, id: task.id).task.fields.completed)
            let reopened = try await web.request(.post, "/tasks/\(task.id)/toggle", cookies: account.cookies,
                                                 headers: [.accept: "application/json"], form: [("_csrf", account.csrf), ("completed", "false")])
            #expect(reopened.json["completed"] as? Bool == false)
            #expect(reopened.json["message"] as? String == "Reopened “Twice”.")
        }
    }

    @Test func deletingATaskTwiceRedirectsBothTimes() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Gone soon"))
            for _ in 0..<2 {
                let reply = try await web.request(.post, "/tasks/\(task.id)/delete", cookies: account.cookies, form: [("_csrf", account.csrf)])
                #expect(reply.status == .seeOther)
                #expect(reply.location == "/")
            }
            #expect(await clientError { try await web.api.client.task(token: account.token, id: task.id) } == .notFound)
        }
    }

    // MARK: Edit

    @Test func theEditFormShowsTheTaskInTheUsersTimeZoneWithItsVersion() async throws {
        try await WebHarness.run { web in
            var account = try await web.signedIn()
            account.timeZone = "Europe%2FBerlin"
            let due = Timestamp(rfc3339: "2030-01-15T08:00:00Z")!
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(
                title: "Renew \"passport\"", description: "Photos first", priority: .medium, tags: ["admin", "travel"], dueAt: due,
                remindAt: due.adding(milliseconds: -3_600_000), recurrence: Recurrence(frequency: .yearly, interval: 10)))
            let etag = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)
            let page = try await web.request(.get, "/tasks/\(task.id)?return_to=%2F%3Fstatus%3Dall", cookies: account.cookies)
            #expect(page.status == .ok)
            #expect(page.inputValue("title") == "Renew \"passport\"")
            #expect(page.inputValue("etag") == etag)
            #expect(page.inputValue("tags") == "admin, travel")
            #expect(page.inputValue("due") == "2030-01-15T09:00")
            #expect(page.inputValue("interval") == "10")
            #expect(page.inputValue("return_to") == "/?status=all")
            #expect(page.text.contains(#"<option value="medium" selected>"#))
            #expect(page.text.contains(#"<option value="60" selected>"#))
            #expect(page.text.contains(#"<option value="yearly" selected>"#))
            #expect(page.text.contains(">Photos first</textarea>"))
        }
    }

    /// The fields the edit form sends, with `changes` in place of the defaults.
    static func editForm(_ account: Visitor, etag: String, _ changes: [String: String] = [:]) -> [(String, String)] {
        let defaults = [
            ("_csrf", account.csrf), ("etag", etag), ("title", "Edited"), ("description", "New notes"), ("priority", "low"),
            ("tags", "Home, #errands home"), ("due", ""), ("remind", ""), ("remind_at", ""), ("repeat", ""), ("interval", "1"),
            ("tz", "Europe/Berlin"), ("return_to", "/?status=all"),
        ]
        let known = Set(defaults.map(\.0))
        return defaults.map { ($0.0, changes[$0.0] ?? $0.1) } + changes.filter { !known.contains($0.key) }.map { ($0.key, $0.value) }
    }

    @Test func savingTheEditFormWritesEveryFieldAndGoesBack() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Before"))
            let etag = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)
            let reply = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies, form: Self.editForm(
                account, etag: etag, ["due": "2030-01-15T09:00", "remind": "10", "completed": "on", "repeat": "weekly", "interval": "2"]))
            #expect(reply.status == .seeOther)
            #expect(reply.location == "/?status=all")
            let saved = try await web.api.client.task(token: account.token, id: task.id).task.fields
            let due = Timestamp(rfc3339: "2030-01-15T08:00:00Z")!
            #expect(saved == TaskFields(
                title: "Edited", description: "New notes", completed: true, priority: .low, tags: ["home", "errands"], dueAt: due,
                remindAt: due.adding(milliseconds: -600_000),
                recurrence: Recurrence(frequency: .weekly, interval: 2, timezone: "Europe/Berlin")))
        }
    }

    @Test func emptyingTheDueDateInTheEditFormClearsItAndItsReminder() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let due = Timestamp.now().adding(milliseconds: 86_400_000)
            let task = try await web.api.client.createTask(
                token: account.token, fields: TaskFields(title: "Scheduled", dueAt: due, remindAt: due.adding(milliseconds: -600_000)))
            let etag = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)
            let reply = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies, form: Self.editForm(account, etag: etag))
            #expect(reply.status == .seeOther)
            let saved = try await web.api.client.task(token: account.token, id: task.id).task.fields
            #expect(saved.dueAt == nil && saved.remindAt == nil)
        }
    }

    @Test func savingOverAChangeMadeElsewhereAnswers409KeepingTheInputWithTheNewVersion() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Draft"))
            let stale = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)
            var elsewhere = TaskPatch()
            elsewhere.title = "Draft (other tab)"
            _ = try await web.api.client.updateTask(token: account.token, id: task.id, patch: elsewhere)
            let current = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)

            let conflict = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies,
                                                 form: Self.editForm(account, etag: stale, ["title": "My version"]))
            #expect(conflict.status == .conflict)
            #expect(conflict.text.contains("changed somewhere else"))
            #expect(conflict.inputValue("title") == "My version")
            #expect(conflict.inputValue("etag") == current)
            #expect(try await web.api.client.task(token: account.token, id: task.id).task.fields.title == "Draft (other tab)")

            let saved = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies,
                                              form: Self.editForm(account, etag: current, ["title": "My version"]))
            #expect(saved.status == .seeOther)
            #expect(try await web.api.client.task(token: account.token, id: task.id).task.fields.title == "My version")
        }
    }

    @Test func anInvalidEditAnswers422WithAMessagePerFieldAndChangesNothing() async throws {
        try await WebHarness.run { web in
            let account = try await web.signedIn()
            let task = try await web.api.client.createTask(token: account.token, fields: TaskFields(title: "Keep me"))
            let etag = try #require(try await web.api.client.task(token: account.token, id: task.id).etag)
            // Checked by the backend.
            let blank = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies, form: Self.editForm(account, etag: etag, ["title": " "]))
            #expect(blank.status == .unprocessableContent)
            #expect(blank.text.contains("Title must be 1 to 200 characters."))
            // Checked by the form before anything is sent.
            let form = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies, form: Self.editForm(
                account, etag: etag, ["due": "someday", "priority": "urgent", "repeat": "daily", "interval": "0"]))
            #expect(form.status == .unprocessableContent)
            #expect(form.text.contains("Due must be a date and time."))
            #expect(form.text.contains("Repeat every must be a number from 1 to 999."))
            #expect(form.inputValue("due") == "someday")
            let reminderWithoutDue = try await web.request(.post, "/tasks/\(task.id)", cookies: account.cookies,
                                                           form: Self.editForm(account, etag: etag, ["remind": "60"]))
            #expect(reminderWithoutDue.text.contains("A reminder before the due time needs a due date."))
            #expect(try await web.api.client.task(token: account.token, id: task.id).task.fields.title == "Keep me")
        }
    }

    @Test func anotherAccountsTaskOrAnIdThatIsNoTaskIdShows404() async throws {
        try await WebHarness.run { web in
            let owner = try await web.signedIn()
            let stranger = try await web.signedIn()
            let task = try await web.api.client.createTask(token: owner.token, fields: TaskFields(title: "Private"))
            for path in ["/tasks/\(task.id)", "/tasks/0", "/tasks/abc"] {
                let reply = try await web.request(.get, path, cookies: stranger.cookies)
                #expect(reply.status == .notFound, "\(path)")
                #expect(!reply.text.contains("Private"))
            }
        }
    }
}
