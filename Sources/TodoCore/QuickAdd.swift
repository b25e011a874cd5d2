import Foundation

/// Reads a task written the way people type it: "Pay rent tomorrow 9am !high #home every month".
/// Recognised words are taken out of the title; everything else stays, in order.
///
/// - priority: `!high`, `!medium` (`!med`), `!low`
/// - tags: `#home`
/// - project: `+Groceries`, or `+"Home Office"` for a name with spaces (Vikunja's convention);
///   the name as typed, matched to the user's projects by whoever creates the task
/// - dates: `today`, `tonight`, `tomorrow`, weekdays (`friday`, `on fri`, `next monday`),
///   `next week`, `in 3 days|weeks|months`, `2026-12-01`, `dec 5`, `5 december`
/// - times: `9am`, `9:30pm`, `5p.m.`, `17:30`, `at 9`, `noon`, `midnight` (also after "at")
/// - repetition: `daily`, `weekly`, `monthly`, `yearly`, `every day|week|month|year`,
///   `every 2 weeks`, `every monday` (weekly from the next Monday)
///
/// A word may be followed by the punctuation of a sentence ("tomorrow,", "9am.", "!high!"): it is read without it.
/// Times are read in `timeZone` (the user's). A date without a time means 09:00; a time without
/// a date means its next occurrence; a repetition without a date starts today.
public enum QuickAdd {
    public struct Result: Sendable, Equatable {
        public var title: String
        public var priority: Priority
        public var tags: [String]
        public var dueAt: Timestamp?
        public var recurrence: Recurrence?
        /// The name after `+`: the project the task goes to.
        public var project: String?

        /// The fields of a new task; nil when nothing is left for a title.
        public var fields: TaskFields? {
            guard !title.isEmpty else { return nil }
            return TaskFields(title: title, priority: priority, tags: tags, dueAt: dueAt, recurrence: recurrence)
        }
    }

    public static func parse(_ text: String, now: Timestamp, timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Result {
        var parser = Parser(words: text.split(whereSeparator: \.isWhitespace).map(String.init), now: now, timeZone: timeZone)
        return parser.run()
    }

    static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    static let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                         "november", "december"]

    /// 1 (Sunday) to 7, for a full name or an abbreviation of three or four letters ("tues").
    static func weekday(_ word: String) -> Int? {
        guard (3...4).contains(word.count) || weekdays.contains(word) else { return nil }
        return weekdays.firstIndex { $0.hasPrefix(word) }.map { $0 + 1 }
    }

    /// 1 to 12, for a full name or an abbreviation of at least three letters ("may" is only May).
    static func month(_ word: String) -> Int? {
        let trimmed = word.hasSuffix(".") ? String(word.dropLast()) : word
        guard trimmed.count >= 3 else { return nil }
        return months.firstIndex { $0 == trimmed || (trimmed.count <= 4 && $0.hasPrefix(trimmed)) }.map { $0 + 1 }
    }

    struct Parser {
        var words: [String]
        var used: [Bool]
        let now: Date
        var calendar: Calendar
        var priority = Priority.none
        var tags: [String] = []
        var day: Date?
        var time: (hour: Int, minute: Int)?
        var recurrence: Recurrence?
        var project: String?

        init(words: [String], now: Timestamp, timeZone: TimeZone) {
            self.words = words
            self.used = Array(repeating: false, count: words.count)
            self.now = Date(timeIntervalSince1970: Double(now.millisecondsSinceEpoch) / 1000)
            self.calendar = Calendar(identifier: .gregorian)
            self.calendar.timeZone = timeZone
        }

        /// The word at `index` if not taken yet, lowercased, without the punctuation a sentence puts around a word
        /// ("tomorrow," "9am." "noon?"). A word that is only punctuation ("!!!") is kept whole.
        func lower(_ index: Int) -> String? {
            guard index < words.count, !used[index] else { return nil }
            let word = words[index].lowercased()
            var trimmed = Substring(word)
            while let first = trimmed.first, ",;".contains(first) { trimmed.removeFirst() }
            while let last = trimmed.last, ",;.?!".contains(last) { trimmed.removeLast() }
            return trimmed.isEmpty ? word : String(trimmed)
        }

        mutating func take(_ range: ClosedRange<Int>) {
            for index in range { used[index] = true }
        }

        var today: Date { calendar.startOfDay(for: now) }

        mutating func run() -> Result {
            var index = 0
            while index < words.count {
                if !used[index] { index += match(at: index) } else { index += 1 }
            }
            var title = zip(words, used).filter { !$0.1 }.map(\.0).joined(separator: " ")
            title = title.trimmingCharacters(in: .whitespacesAndNewlines)
            if recurrence != nil, day == nil, time == nil { day = today }
            var dueAt: Timestamp?
            if day != nil || time != nil {
                let (hour, minute) = time ?? (9, 0)
                var date = day ?? today
                date = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: date) ?? date
                if day == nil, date <= now { date = calendar.date(byAdding: .day, value: 1, to: date) ?? date }
                dueAt = Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded()))
            }
            if recurrence != nil { recurrence?.timezone = calendar.timeZone.identifier == "GMT" ? "UTC" : calendar.timeZone.identifier }
            return Result(title: title, priority: priority, tags: tags, dueAt: dueAt, recurrence: recurrence, project: project)
        }

        /// Tries every pattern at `index`; returns how many words to advance.
        mutating func match(at index: Int) -> Int {
            guard let word = lower(index) else { return 1 }
            if word.hasPrefix("!"), let value = ["!high": Priority.high, "!medium": .medium, "!med": .medium, "!low": .low,
                                                 "!!!": .high, "!!": .medium][word] {
                priority = value
                take(index...index)
            } else if word.hasPrefix("#"), word.count > 1, case .success(let tag) = Tag.normalized(word) {
                if !tags.contains(tag) { tags.append(tag) }
                take(index...index)
            } else if project == nil, let length = matchProject(at: index) {
                take(index...(index + length - 1))
                return length
            } else if let length = matchRecurrence(at: index) ?? matchDay(at: index) ?? matchTime(at: index) {
                take(index...(index + length - 1))
                return length
            }
            return 1
        }

        /// `+Name`, or `+"Two words"` up to the word that closes the quotation; the first one counts.
        mutating func matchProject(at index: Int) -> Int? {
            let word = words[index]
            guard word.hasPrefix("+"), word.count > 1 else { return nil }
            let opened = word.dropFirst()
            guard opened.first == "\"" else {
                let name = opened.trimmingCharacters(in: CharacterSet(charactersIn: ",;.?!"))
                if name.isEmpty { return nil }
                project = name
                return 1
            }
            var quoted = [String(opened.dropFirst())]
            var end = index
            while !(quoted.last ?? "").hasSuffix("\"") || (end == index && opened.count == 1) {
                end += 1
                guard end < words.count, !used[end] else { return nil }
                quoted.append(words[end])
            }
            let name = String(quoted.joined(separator: " ").dropLast()).trimmingCharacters(in: .whitespaces)
            if name.isEmpty { return nil }
            project = name
            return end - index + 1
        }

        mutating func matchRecurrence(at index: Int) -> Int? {
            guard let word = lower(index) else { return nil }
            let simple: [String: Recurrence.Frequency] = ["daily": .daily, "weekly": .weekly, "monthly": .monthly, "yearly": .yearly,
                                                          "annually": .yearly]
            if let frequency = simple[word] {
                recurrence = Recurrence(frequency: frequency)
                return 1
            }
            guard word == "every" || word == "each", let next = lower(index + 1) else { return nil }
            if let weekday = QuickAdd.weekday(next) {
                recurrence = Recurrence(frequency: .weekly)
                day = nextWeekday(weekday, includingToday: true)
                return 2
            }
            var interval = 1
            var unitIndex = index + 1
            if let number = Int(next), (1...999).contains(number) {
                interval = number
                unitIndex += 1
            } else if next == "other" {
                interval = 2
                unitIndex += 1
            }
            guard let unit = lower(unitIndex), let frequency = Self.frequency(unit) else { return nil }
            recurrence = Recurrence(frequency: frequency, interval: interval)
            return unitIndex - index + 1
        }

        static func frequency(_ unit: String) -> Recurrence.Frequency? {
            switch unit {
            case "day", "days": .daily
            case "week", "weeks": .weekly
            case "month", "months": .monthly
            case "year", "years": .yearly
            default: nil
            }
        }

        mutating func matchDay(at index: Int) -> Int? {
            guard day == nil, var word = lower(index) else { return nil }
            var offset = 0
            if word == "on" || word == "next", let next = lower(index + 1), QuickAdd.weekday(next) != nil || (word == "next" && next == "week") {
                offset = 1
                if word == "next", next == "week" {
                    day = calendar.date(byAdding: .day, value: 7, to: today)
                    return 2
                }
                word = next
            }
            switch word {
            case "today": day = today
            case "tonight":
                day = today
                time = time ?? (20, 0)
            case "tomorrow", "tmrw", "tmr": day = calendar.date(byAdding: .day, value: 1, to: today)
            default:
                if let weekday = QuickAdd.weekday(word) {
                    day = nextWeekday(weekday, includingToday: false)
                } else if let date = isoDate(word) {
                    day = date
                } else if word == "in", let count = lower(index + 1).flatMap({ Int($0) }), (1...999).contains(count),
                          let unit = lower(index + 2), let frequency = Self.frequency(unit) {
                    let component: Calendar.Component = [.daily: .day, .weekly: .weekOfYear, .monthly: .month, .yearly: .year][frequency]!
                    day = calendar.date(byAdding: component, value: count, to: today)
                    return 3
                } else if let (date, length) = monthDay(at: index) {
                    day = date
                    return length
                } else {
                    return nil
                }
            }
            return offset + 1
        }

        /// A time, with or without "at" before it: "6pm", "at 6pm", "at 9", "noon", "at noon".
        mutating func matchTime(at index: Int) -> Int? {
            guard time == nil, let word = lower(index) else { return nil }
            let afterAt = word == "at"
            guard let timeWord = afterAt ? lower(index + 1) : word,
                  let parsed = Self.namedTimes[timeWord] ?? Self.clock(timeWord, bare: afterAt)
            else { return nil }
            time = parsed
            return afterAt ? 2 : 1
        }

        static let namedTimes: [String: (Int, Int)] = ["noon": (12, 0), "midnight": (0, 0)]

        /// `9am`, `9:30pm`, `5p.m.` (`5p.m` once the full stop is read as the sentence's), `17:30`; with `bare`, also `9` (after "at").
        static func clock(_ word: String, bare: Bool) -> (Int, Int)? {
            var text = word
            var meridiem: String?
            for suffix in ["am", "pm", "a.m.", "p.m.", "a.m", "p.m"] where text.hasSuffix(suffix) {
                meridiem = String(suffix.prefix(1))
                text = String(text.dropLast(suffix.count))
                break
            }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), var hour = Int(parts[0]), parts[0].count <= 2 else { return nil }
            var minute = 0
            if parts.count == 2 {
                guard parts[1].count == 2, let value = Int(parts[1]), value < 60 else { return nil }
                minute = value
            } else if meridiem == nil && !bare {
                return nil
            }
            if let meridiem {
                guard (1...12).contains(hour) else { return nil }
                if meridiem == "p", hour < 12 { hour += 12 }
                if meridiem == "a", hour == 12 { hour = 0 }
            }
            guard hour < 24 else { return nil }
            return (hour, minute)
        }

        func nextWeekday(_ weekday: Int, includingToday: Bool) -> Date? {
            let current = calendar.component(.weekday, from: today)
            var days = (weekday - current + 7) % 7
            if days == 0, !includingToday { days = 7 }
            return calendar.date(byAdding: .day, value: days, to: today)
        }

        func isoDate(_ word: String) -> Date? {
            let parts = word.split(separator: "-")
            guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
                  (1...12).contains(month), (1...31).contains(day)
            else { return nil }
            let date = calendar.date(from: DateComponents(year: year, month: month, day: day))
            return date.flatMap { calendar.component(.day, from: $0) == day ? $0 : nil }
        }

        /// `dec 5`, `december 5th`, `5 dec`: the next such day from today.
        func monthDay(at index: Int) -> (Date, Int)? {
            guard let first = lower(index), let second = lower(index + 1) else { return nil }
            func dayNumber(_ text: String) -> Int? {
                Int(text.replacingOccurrences(of: "st", with: "").replacingOccurrences(of: "nd", with: "")
                    .replacingOccurrences(of: "rd", with: "").replacingOccurrences(of: "th", with: ""))
                    .flatMap { (1...31).contains($0) ? $0 : nil }
            }
            let pair: (month: Int, day: Int)
            if let month = QuickAdd.month(first), let day = dayNumber(second) {
                pair = (month, day)
            } else if let day = dayNumber(first), let month = QuickAdd.month(second) {
                pair = (month, day)
            } else {
                return nil
            }
            let year = calendar.component(.year, from: today)
            for candidate in [year, year + 1] {
                if let date = calendar.date(from: DateComponents(year: candidate, month: pair.month, day: pair.day)),
                   calendar.component(.day, from: date) == pair.day, date >= today {
                    return (date, 2)
                }
            }
            return nil
        }
    }
}
