/// Rules for user-supplied text shared by every field.
public enum TextRules {
    /// Control characters (other than the ones a multi-line text may hold) and NUL are never
    /// stored: PostgreSQL cannot store NUL, and invisible controls are never intended.
    static func hasForbiddenControl(_ text: String, allowingLineBreaks: Bool) -> Bool {
        text.unicodeScalars.contains { scalar in
            if allowingLineBreaks, scalar == "\n" || scalar == "\r" || scalar == "\t" { return false }
            return scalar.properties.generalCategory == .control
        }
    }

    public static func trimmedName(_ text: String) -> String { trimmed(text) }

    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
