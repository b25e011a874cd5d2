import CSV
import Foundation
import TodoCore

/// Reads a project Todoist exported as CSV ("Export as a template") into tasks of ours.
///
/// Columns are found by their header names, in any order; only TYPE and CONTENT are required
/// (TYPE, CONTENT, DESCRIPTION, PRIORITY, INDENT, AUTHOR, RESPONSIBLE, DATE, DATE_LANG, TIMEZONE,
/// DURATION, DURATION_UNIT, DEADLINE, DEADLINE_LANG).
/// - `task` rows become tasks. `@label` words of CONTENT become tags; PRIORITY 1 to 4 (Todoist's p1,
///   the highest, to p4) becomes high, medium, low and none; INDENT nests sub-tasks; DATE is read
///   as quick add reads dates ("every friday", "dec 5 9am"), in the row's TIMEZONE.
/// - `note` rows (comments) are added to the description of the task above them.
/// - What has no place here is reported and the rest imported: sections, assignees, durations,
///   deadlines, dates quick add cannot read, nesting deeper than ours. AUTHOR is not reported: the
///   tasks are the importer's.
/// A file without the two columns, that is not CSV, or with a task without a title fails whole.
public enum TodoistCSV {
    public static let maximumTasks = TaskExport.maximumTasks
    public static let maximumDepth = TaskLimits.levels

    public struct Task: Sendable, Equatable {
        public var fields: TaskFields
        /// The index in `Plan.tasks` of the parent, which always comes before its sub-tasks.
        public var parent: Int?
        /// The record of the file it came from, the header being row 1.
        public var row: Int
    }

    public struct Plan: Sendable, Equatable {
        public var tasks: [Task]
        /// What was not imported as the file had it, a sentence each, naming the rows.
        public var notMapped: [String]

        /// The import of these tasks into a new project `project`, in the file's order (positions
        /// given here: a store writes a level of sub-tasks at a time).
        public func importing(into project: ImportPlan.NewProjectEntry, userID: UserID, at now: Timestamp) -> ImportPlan {
            ImportPlan(projects: [project], tasks: tasks.enumerated().map { index, task in
                var placed = TodoTask.new(task.fields, userID: userID, at: now)
                placed.position = Double(index + 1) * ManualOrder.step
                return ImportPlan.Entry(task: placed, project: 0, parent: task.parent)
            })
        }
    }

    /// `timeZone` reads the dates of rows without a known TIMEZONE.
    public static func read(_ text: String, now: Timestamp, timeZone: TimeZone) throws(ValidationError) -> Plan {
        let records = try Self.records(text)
        guard let header = records.first,
              let columns = Columns(header: header)
        else { throw ValidationError(field: "file", "is not a Todoist CSV export: its first row must name the TYPE and CONTENT columns") }
        var reader = Reader(columns: columns, now: now, timeZone: timeZone)
        for (offset, record) in records.dropFirst().enumerated() {
            reader.read(record, row: offset + 2)
        }
        if !reader.issues.isEmpty { throw ValidationError(reader.issues) }
        guard reader.tasks.count <= maximumTasks else {
            throw ValidationError(field: "file", "has \(reader.tasks.count) tasks; at most \(maximumTasks) per import")
        }
        return Plan(tasks: reader.tasks, notMapped: reader.report.sentences)
    }

    static func records(_ text: String) throws(ValidationError) -> [[String]] {
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        // The reader takes an unclosed quote to run to the end of the file; quotes come in pairs.
        guard body.utf8.count(where: { $0 == UInt8(ascii: "\"") }).isMultiple(of: 2) else {
            throw ValidationError(field: "file", "cannot be read as CSV: a quoted field is not closed")
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: body)
        } catch {
            throw ValidationError(field: "file", "cannot be read as CSV")
        }
        var records: [[String]] = []
        while let record = reader.next() { records.append(record) }
        if reader.error != nil { throw ValidationError(field: "file", "cannot be read as CSV") }
        return records
    }

    /// Where each column is, by its header name.
    struct Columns {
        let index: [String: Int]

        init?(header: [String]) {
            var index: [String: Int] = [:]
            for (position, name) in header.enumerated() {
                index[name.trimmingCharacters(in: .whitespaces).uppercased()] = position
            }
            guard index["TYPE"] != nil, index["CONTENT"] != nil else { return nil }
            self.index = index
        }

        func value(_ name: String, in record: [String]) -> String {
            guard let position = index[name], position < record.count else { return "" }
            return record[position].trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    struct Reader {
        let columns: Columns
        let now: Timestamp
        let timeZone: TimeZone
        var tasks: [Task] = []
        var issues: [FieldIssue] = []
        var report = Report()
        /// The last task seen at each depth, top first: where the next row's parent is found.
        var path: [Int] = []

        init(columns: Columns, now: Timestamp, timeZone: TimeZone) {
            self.columns = columns
            self.now = now
            self.timeZone = timeZone
        }

        mutating func read(_ record: [String], row: Int) {
            let columns = columns
            let value = { (name: String) in columns.value(name, in: record) }
            switch value("TYPE").lowercased() {
            case "task": readTask(value, row: row)
            case "note": readNote(value("CONTENT"), row: row)
            case "section": report.add(.section, row)
            case "": if record.contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) { report.add(.unknownType, row) }
            default: report.add(.unknownType, row)
            }
        }

        mutating func readTask(_ value: (String) -> String, row: Int) {
            var (title, tags) = titleAndTags(value("CONTENT"), row: row)
            guard !title.isEmpty else {
                issues.append(FieldIssue(field: "rows[\(row)].CONTENT", message: "is empty: a task needs a title"))
                return
            }
            if title.count > TaskLimits.titleLength.upperBound {
                title = TextRules.trimmedName(String(title.prefix(TaskLimits.titleLength.upperBound)))
                report.add(.longTitle, row)
            }
            var fields = TaskFields(title: title, tags: tags)
            fields.description = clipped(value("DESCRIPTION"), row: row)
            fields.priority = priority(value("PRIORITY"), row: row)
            readDate(value("DATE"), zone: value("TIMEZONE"), into: &fields, row: row)
            if !value("RESPONSIBLE").isEmpty { report.add(.assignee, row) }
            if !value("DURATION").isEmpty { report.add(.duration, row) }
            if !value("DEADLINE").isEmpty { report.add(.deadline, row) }
            let parent = place(indent: value("INDENT"), row: row)
            tasks.append(Task(fields: fields, parent: parent, row: row))
            path.append(tasks.count - 1)
        }

        /// `@label` words become tags; the other words, in order, the title.
        mutating func titleAndTags(_ content: String, row: Int) -> (String, [String]) {
            var words: [Substring] = []
            var tags: [String] = []
            for word in content.split(whereSeparator: \.isWhitespace) {
                guard word.hasPrefix("@"), word.count > 1, case .success(let tag) = Tag.normalized(String(word.dropFirst())) else {
                    words.append(word)
                    continue
                }
                if tags.count == TaskLimits.maxTags {
                    report.add(.tooManyLabels, row)
                } else if !tags.contains(tag) {
                    tags.append(tag)
                }
            }
            return (words.joined(separator: " "), tags)
        }

        mutating func clipped(_ description: String, row: Int) -> String {
            guard description.count > TaskLimits.descriptionMaxLength else { return description }
            report.add(.longDescription, row)
            return String(description.prefix(TaskLimits.descriptionMaxLength))
        }

        mutating func priority(_ text: String, row: Int) -> Priority {
            switch text {
            case "1": return .high
            case "2": return .medium
            case "3": return .low
            case "4", "": return .none
            default:
                report.add(.priority, row)
                return .none
            }
        }

        mutating func readDate(_ text: String, zone: String, into fields: inout TaskFields, row: Int) {
            guard !text.isEmpty else { return }
            let result = QuickAdd.parse(text, now: now, timeZone: TimeZone(identifier: zone) ?? timeZone)
            guard result.title.isEmpty, result.tags.isEmpty, result.priority == .none, let dueAt = result.dueAt else {
                report.add(.date, row)
                return
            }
            fields.dueAt = dueAt
            fields.recurrence = result.recurrence
        }

        /// The parent of a task at `indent` (1 is the top): the last task one level up. A row
        /// indented past the task above it, or deeper than we nest, goes as deep as it can.
        mutating func place(indent text: String, row: Int) -> Int? {
            guard let indent = text.isEmpty ? 1 : Int(text), indent >= 1 else {
                report.add(.indent, row)
                path.removeAll()
                return nil
            }
            var depth = indent
            if depth > path.count + 1 {
                depth = path.count + 1
                report.add(.indent, row)
            }
            if depth > TodoistCSV.maximumDepth {
                depth = TodoistCSV.maximumDepth
                report.add(.tooDeep, row)
            }
            path.removeLast(path.count - (depth - 1))
            return path.last
        }

        mutating func readNote(_ content: String, row: Int) {
            guard let last = tasks.indices.last else {
                report.add(.projectComment, row)
                return
            }
            guard !content.isEmpty else { return }
            let description = tasks[last].fields.description
            let joined = description.isEmpty ? content : description + "\n\n" + content
            guard joined.count <= TaskLimits.descriptionMaxLength else {
                report.add(.longComment, row)
                return
            }
            tasks[last].fields.description = joined
        }
    }

    /// What was not imported as it was, gathered by kind, told once per kind.
    struct Report {
        enum Kind: CaseIterable {
            case section, assignee, duration, deadline, date, priority, indent, tooDeep, longTitle, longDescription,
                 longComment, projectComment, tooManyLabels, unknownType

            var sentence: String {
                switch self {
                case .section: "Sections are not kept; the tasks under them are imported"
                case .assignee: "Assignees (RESPONSIBLE) are not imported"
                case .duration: "Durations are not kept"
                case .deadline: "Deadlines are not kept; the DATE is the due date"
                case .date: "Dates that could not be read; these tasks have no due date"
                case .priority: "PRIORITY not 1 to 4; these tasks have no priority"
                case .indent: "INDENT that skips a level is read as one level below the task above, and one that is not a number as the top"
                case .tooDeep: "Sub-tasks nested deeper than \(TodoistCSV.maximumDepth) levels are placed at the fourth"
                case .longTitle: "Titles longer than \(TaskLimits.titleLength.upperBound) characters are cut"
                case .longDescription: "Descriptions longer than \(TaskLimits.descriptionMaxLength) characters are cut"
                case .longComment: "Comments that would make a description longer than \(TaskLimits.descriptionMaxLength) characters are left out"
                case .projectComment: "Comments on the project itself are not kept"
                case .tooManyLabels: "Labels past the \(TaskLimits.maxTags)th of a task are left out"
                case .unknownType: "Rows whose TYPE is not task, section or note are skipped"
                }
            }
        }

        var rows: [Kind: [Int]] = [:]

        mutating func add(_ kind: Kind, _ row: Int) {
            if rows[kind]?.last != row { rows[kind, default: []].append(row) }
        }

        var sentences: [String] {
            Kind.allCases.compactMap { kind in
                guard let rows = rows[kind] else { return nil }
                let named = rows.prefix(10).map(String.init).joined(separator: ", ")
                let more = rows.count > 10 ? " and \(rows.count - 10) more" : ""
                return "\(kind.sentence) (row\(rows.count == 1 ? "" : "s") \(named)\(more))."
            }
        }
    }
}
