import Foundation
import Testing
import TodoCore

/// Reading export documents into an import plan: version 2's projects, sub-tasks and order, and
/// version 1 into the Inbox.
@Suite struct TaskExportTests {
    static let now = Timestamp(millisecondsSinceEpoch: 1_795_426_215_250)

    static func plan(_ document: String) throws(ValidationError) -> ImportPlan {
        let json = try! JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
        return try TaskExport.plan(from: json, userID: "u1", now: now)
    }

    static func version2(projects: String, tasks: String) -> String {
        #"{"format": "todo-export", "version": 2, "exported_at": "2026-12-01T00:00:00Z", "projects": [\#(projects)], "tasks": [\#(tasks)]}"#
    }

    static let projects = #"""
        {"id": "1", "name": "Inbox", "is_inbox": true, "position": 1024, "role": "owner", "open_count": 1},
        {"id": "9", "name": "Trip", "color": "#AABBCC", "position": 4096, "archived": false},
        {"id": "5", "name": "Old", "position": 2048, "archived": true, "created_at": "2026-01-01T00:00:00Z"}
        """#

    @Test func version2KeepsProjectsSubTasksAndOrder() throws {
        let plan = try Self.plan(Self.version2(projects: Self.projects, tasks: #"""
            {"id": "30", "title": "Socks", "project_id": "9", "parent_id": "20", "position": 3000},
            {"id": "20", "title": "Pack", "project_id": "9", "parent_id": null, "position": 2000},
            {"id": "10", "title": "Book flights", "project_id": "9", "position": 1000},
            {"id": "40", "title": "Wool socks", "project_id": "9", "parent_id": "30", "position": 500},
            {"id": "50", "title": "Milk", "project_id": "1", "position": 99},
            {"title": "Loose", "position": 7},
            {"id": "60", "title": "Archive me", "project_id": "5"}
            """#))
        #expect(plan.projects == [.init(name: "Old", archived: true), .init(name: "Trip", color: "#aabbcc")], "in their order, the Inbox not made")
        #expect(plan.tasks.map(\.task.fields.title) == ["Loose", "Milk", "Archive me", "Book flights", "Pack", "Socks", "Wool socks"])
        #expect(plan.tasks.map(\.project) == [nil, nil, 0, 1, 1, 1, 1])
        #expect(plan.tasks.map(\.parent) == [nil, nil, nil, nil, nil, 4, 5])
        #expect(plan.tasks.map(\.task.position) == [nil, nil, nil, 1000, 2000, 3000, 500], "the Inbox's tasks go after its own")
        #expect(plan.levels == [[0, 1, 2, 3, 4], [5], [6]])
    }

    @Test func version1GoesToTheInboxWhateverItsTasksSay() throws {
        let plan = try Self.plan(#"""
            {"format": "todo-export", "version": 1, "tasks": [
              {"id": "2", "title": "child", "project_id": "9", "parent_id": "1", "position": 5},
              {"id": "1", "title": "parent"}]}
            """#)
        #expect(plan.projects.isEmpty)
        #expect(plan.tasks.map(\.task.fields.title) == ["child", "parent"])
        #expect(plan.tasks.allSatisfy { $0.project == nil && $0.parent == nil })
        #expect(throws: ValidationError.self) { try Self.plan(#"{"format": "todo-export", "version": 1, "projects": [], "tasks": []}"#) }
    }

    @Test(arguments: [
        (#"{"id": "1", "title": "a", "project_id": "77"}"#, "tasks[0].project_id"),
        (#"{"id": "1", "title": "a", "project_id": "9"}, {"id": "2", "title": "b", "project_id": "5", "parent_id": "1"}"#, "tasks[1].parent_id"),
        (#"{"id": "1", "title": "a", "parent_id": "404"}"#, "tasks[0].parent_id"),
        (#"{"id": "1", "title": "a", "parent_id": "2"}, {"id": "2", "title": "b", "parent_id": "1"}"#, "tasks[0].parent_id"),
        (#"{"id": "1", "title": "a"}, {"id": "1", "title": "b"}"#, "tasks[1].id"),
        (#"{"id": "1", "title": ""}"#, "tasks[0].title"),
        ((1...5).map { #"{"id": "\#($0)", "title": "level \#($0)"\#($0 > 1 ? #", "parent_id": "\#($0 - 1)""# : "")}"# }.joined(separator: ","), "tasks[4].parent_id"),
    ])
    func badTasksAreNamed(tasks: String, field: String) {
        #expect { try Self.plan(Self.version2(projects: Self.projects, tasks: tasks)) } throws: { error in
            (error as? ValidationError)?.issues.contains { $0.field == field } == true
        }
    }

    @Test(arguments: [
        (#"{"name": "no id"}"#, "projects[0].id"),
        (#"{"id": "3"}"#, "projects[0].name"),
        (#"{"id": "3", "name": "a"}, {"id": "3", "name": "b"}"#, "projects[1].id"),
        (#"{"id": "3", "name": "a", "colour": "red"}"#, "projects[0].colour"),
    ])
    func badProjectsAreNamed(projects: String, field: String) {
        #expect { try Self.plan(Self.version2(projects: projects, tasks: "")) } throws: { error in
            (error as? ValidationError)?.issues.contains { $0.field == field } == true
        }
    }
}
