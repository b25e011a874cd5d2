import TodoCore

/// What a CalDAV client stored with a task beyond its fields: the resource name it chose (its
/// URL in the task's calendar), its UID, and the iCalendar lines we do not model, which are returned
/// unchanged on the next GET. Tasks made through the API have no row: their name is
/// `{id}.ics` and their UID `task-{id}@todo`.
public struct CalendarObject: Sendable, Equatable {
    public var taskID: TaskID
    public var userID: UserID
    public var name: String
    public var uid: String
    public var todoExtra: String
    public var calendarExtra: String

    public init(taskID: TaskID, userID: UserID, name: String, uid: String, todoExtra: String, calendarExtra: String) {
        self.taskID = taskID
        self.userID = userID
        self.name = name
        self.uid = uid
        self.todoExtra = todoExtra
        self.calendarExtra = calendarExtra
    }
}

/// The CalDAV side of tasks. A row outlives its task (there is no foreign key to `tasks`): a
/// sync after the deletion must still name the deleted resource, so the row stays until the
/// event log no longer mentions the task (`pruneCalendarObjects`).
public protocol CalendarObjectStore: Sendable {
    /// Every row of the user, deleted tasks' included: a calendar request finds names and UIDs in them.
    func calendarObjects(userID: UserID) async throws -> [CalendarObject]
    /// Stores the task's row, replacing its earlier one and any row of a deleted task with the same
    /// name. A task has one row: in a shared project, the first member's client to store one
    /// keeps it, and the others see the task under its default name and UID.
    func saveCalendarObject(_ object: CalendarObject) async throws
    /// Deletes the rows of tasks that neither exist nor appear in the event log any more.
    func pruneCalendarObjects() async throws
}
