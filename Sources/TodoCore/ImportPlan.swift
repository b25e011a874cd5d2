/// What one import stores, all or nothing: new projects, and tasks in them or in the importer's
/// Inbox, sub-tasks under their parents. Made by the readers of the formats we import (our export,
/// Todoist's CSV); the store only follows it.
public struct ImportPlan: Sendable, Equatable {
    /// A project the import creates, owned by the importer, after their other projects.
    public struct NewProjectEntry: Sendable, Equatable {
        public var name: String
        public var color: String?
        public var archived: Bool

        public init(name: String, color: String? = nil, archived: Bool = false) {
            self.name = name
            self.color = color
            self.archived = archived
        }
    }

    public struct Entry: Sendable, Equatable {
        /// The task; its project, parent and owner are set by the store.
        public var task: TodoTask
        /// The index in `projects` of its project; nil puts it in the importer's Inbox.
        public var project: Int?
        /// The index in `tasks` of its parent, always an earlier entry of the same project.
        public var parent: Int?

        public init(task: TodoTask, project: Int? = nil, parent: Int? = nil) {
            self.task = task
            self.project = project
            self.parent = parent
        }
    }

    public var projects: [NewProjectEntry]
    public var tasks: [Entry]

    public init(projects: [NewProjectEntry] = [], tasks: [Entry]) {
        self.projects = projects
        self.tasks = tasks
    }

    /// The tasks' indices by level, top first: each level's parents are all in the levels
    /// before it, so a store can write a level at once and learn the ids its sub-tasks need.
    public var levels: [[Int]] {
        var depth: [Int] = []
        var levels: [[Int]] = []
        for (index, entry) in tasks.enumerated() {
            let level = entry.parent.map { depth[$0] + 1 } ?? 0
            depth.append(level)
            if level == levels.count { levels.append([]) }
            levels[level].append(index)
        }
        return levels
    }
}
