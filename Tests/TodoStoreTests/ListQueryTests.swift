import Testing
import TodoCore
import TodoStore

/// Filters, search, order and keyset pagination of the list query, on every database.
@Suite struct ListQueryTests {
    static let backends = Backend.available

    /// Six tasks with distinct values in every sortable field.
    static let samples: [TaskFields] = [
        TaskFields(title: "banana bread", completed: false, priority: .low, tags: ["food"], dueAt: time("2026-03-01T10:00:00Z")),
        TaskFields(title: "Apple pie", description: "bake 50% less sugar", completed: true, priority: .high,
                   tags: ["food", "weekend"], dueAt: time("2026-01-15T10:00:00Z")),
        TaskFields(title: "call mum", completed: false, priority: .medium, tags: ["family"], dueAt: nil),
        TaskFields(title: "Dentist", description: "ask about_ teeth", completed: false, priority: .high, tags: ["health"],
                   dueAt: time("2026-02-01T09:00:00Z")),
        TaskFields(title: "errands", completed: true, priority: .none, tags: [], dueAt: nil),
        TaskFields(title: "File taxes", completed: false, priority: .medium, tags: ["money", "weekend"],
                   dueAt: time("2026-04-30T23:59:59Z")),
    ]

    /// Stores the samples one millisecond apart (so `created` has a strict order) and
    /// returns them in insertion order.
    static func seed(_ storage: Storage) async throws -> (User, [TodoTask]) {
        let user = try await makeUser(storage)
        var tasks: [TodoTask] = []
        let start = time("2026-01-01T00:00:00Z")
        for (index, fields) in samples.enumerated() {
            let at = start.adding(milliseconds: Int64(index))
            tasks.append(try #require(try await storage.tasks.insertTask(fields, userID: user.id, at: at, limit: taskLimit)))
        }
        // Decoys of another user must never show up.
        let other = try await makeUser(storage)
        for fields in samples { _ = try await storage.tasks.insertTask(fields, userID: other.id, at: start, limit: taskLimit) }
        return (user, tasks)
    }

    static func titles(_ storage: Storage, _ user: User, _ configure: (inout TaskQuery) -> Void) async throws -> [String] {
        var query = TaskQuery()
        query.sort = .init(field: .created, descending: false)
        configure(&query)
        return try await storage.tasks.listTasks(userID: user.id, query: query).items.map(\.fields.title)
    }

    @Test(arguments: backends)
    func filtersByStatus(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            #expect(try await Self.titles(storage, user) { $0.status = .completed } == ["Apple pie", "errands"])
            #expect(try await Self.titles(storage, user) { $0.status = .pending }.count == 4)
            #expect(try await Self.titles(storage, user) { $0.status = .all }.count == 6)
        }
    }

    @Test(arguments: backends)
    func filtersByPriorityAndTags(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            #expect(try await Self.titles(storage, user) { $0.priorities = [.high] } == ["Apple pie", "Dentist"])
            #expect(try await Self.titles(storage, user) { $0.priorities = [.none, .low] } == ["banana bread", "errands"])
            #expect(try await Self.titles(storage, user) { $0.tags = ["weekend"] } == ["Apple pie", "File taxes"])
            #expect(try await Self.titles(storage, user) { $0.tags = ["weekend", "food"] } == ["Apple pie"])
            #expect(try await Self.titles(storage, user) { $0.tags = ["foo"] } == [])
            #expect(try await Self.titles(storage, user) { $0.tags = ["weekend"]; $0.priorities = [.medium] } == ["File taxes"])
        }
    }

    @Test(arguments: backends)
    func filtersByDueRange(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            let inFebruary = try await Self.titles(storage, user) {
                $0.dueAfter = time("2026-02-01T09:00:00Z")
                $0.dueBefore = time("2026-03-01T10:00:00Z")
            }
            #expect(inFebruary == ["Dentist"])
            #expect(try await Self.titles(storage, user) { $0.dueBefore = time("2026-02-01T00:00:00Z") } == ["Apple pie"])
        }
    }

    @Test(arguments: backends)
    func searchIsCaseInsensitiveAndTakesWildcardsLiterally(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            #expect(try await Self.titles(storage, user) { $0.search = "APPLE" } == ["Apple pie"])
            #expect(try await Self.titles(storage, user) { $0.search = "sugar" } == ["Apple pie"])
            #expect(try await Self.titles(storage, user) { $0.search = "50%" } == ["Apple pie"])
            #expect(try await Self.titles(storage, user) { $0.search = "%" } == ["Apple pie"])
            #expect(try await Self.titles(storage, user) { $0.search = "_" } == ["Dentist"])
            #expect(try await Self.titles(storage, user) { $0.search = "' OR 1=1 --" } == [])
        }
    }

    static let sortCases: [(TaskQuery.Sort, [String])] = [
        (.init(field: .created, descending: false), ["banana bread", "Apple pie", "call mum", "Dentist", "errands", "File taxes"]),
        (.init(field: .created, descending: true), ["File taxes", "errands", "Dentist", "call mum", "Apple pie", "banana bread"]),
        (.init(field: .title, descending: false), ["Apple pie", "banana bread", "call mum", "Dentist", "errands", "File taxes"]),
        (.init(field: .title, descending: true), ["File taxes", "errands", "Dentist", "call mum", "banana bread", "Apple pie"]),
        // Ties keep id order in the sort direction; tasks without a due date come last either way.
        (.init(field: .due, descending: false), ["Apple pie", "Dentist", "banana bread", "File taxes", "call mum", "errands"]),
        (.init(field: .due, descending: true), ["File taxes", "banana bread", "Dentist", "Apple pie", "errands", "call mum"]),
        (.init(field: .priority, descending: true), ["Dentist", "Apple pie", "File taxes", "call mum", "banana bread", "errands"]),
        (.init(field: .priority, descending: false), ["errands", "banana bread", "call mum", "File taxes", "Apple pie", "Dentist"]),
        (.init(field: .updated, descending: false), ["banana bread", "Apple pie", "call mum", "Dentist", "errands", "File taxes"]),
    ]

    @Test(arguments: backends)
    func sortsInEveryOrder(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            for (sort, expected) in Self.sortCases {
                let titles = try await Self.titles(storage, user) { $0.sort = sort }
                #expect(titles == expected, "sort \(sort.parameterValue)")
            }
        }
    }

    @Test(arguments: backends)
    func pagingVisitsEveryTaskOnceInOrder(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            for (sort, expected) in Self.sortCases {
                for limit in [1, 2, 4] {
                    var query = TaskQuery()
                    query.sort = sort
                    query.limit = limit
                    var seen: [String] = []
                    var pages = 0
                    repeat {
                        let page = try await storage.tasks.listTasks(userID: user.id, query: query)
                        seen += page.items.map(\.fields.title)
                        query.cursor = page.nextCursor
                        pages += 1
                    } while query.cursor != nil && pages < 20
                    #expect(seen == expected, "sort \(sort.parameterValue) limit \(limit)")
                }
            }
        }
    }

    @Test(arguments: backends)
    func cursorSurvivesTheTokenRoundTrip(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let (user, _) = try await Self.seed(storage)
            var first = TaskQuery()
            first.limit = 3
            first.sort = .init(field: .title, descending: false)
            let page = try await storage.tasks.listTasks(userID: user.id, query: first)
            let token = try #require(page.nextCursor?.token)
            let next = try TaskQuery(parameters: [("sort", "title"), ("limit", "3"), ("cursor", token)])
            let rest = try await storage.tasks.listTasks(userID: user.id, query: next)
            #expect(rest.items.map(\.fields.title) == ["Dentist", "errands", "File taxes"])
            #expect(rest.nextCursor == nil)
        }
    }

    /// The default first page has a path of its own on PostgreSQL (a prepared statement); with
    /// the pages after it (the general query) it must list every task once, newest first, ties
    /// broken by id.
    @Test(arguments: backends)
    func defaultFirstPageAndTheRestListEveryTaskNewestFirst(_ backend: Backend) async throws {
        try await withStorage(backend) { storage in
            let user = try await makeUser(storage)
            let start = time("2026-01-01T00:00:00Z")
            var stored: [TodoTask] = []
            for index in 0..<(TaskQuery.defaultLimit + 3) {
                // Pairs of tasks share a creation time: the order falls back to the id.
                let at = start.adding(milliseconds: Int64(index / 2))
                stored.append(try #require(try await storage.tasks.insertTask(TaskFields(title: "task \(index)"), userID: user.id, at: at, limit: taskLimit)))
            }
            let newestFirst = stored.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            let first = try await storage.tasks.listTasks(userID: user.id, query: TaskQuery())
            #expect(first.items == Array(newestFirst.prefix(TaskQuery.defaultLimit)))
            var next = TaskQuery()
            let cursor: TaskCursor = try #require(first.nextCursor)
            next.cursor = cursor
            let rest = try await storage.tasks.listTasks(userID: user.id, query: next)
            #expect(rest.items == Array(newestFirst.dropFirst(TaskQuery.defaultLimit)))
            #expect(rest.nextCursor == nil)
        }
    }
}
