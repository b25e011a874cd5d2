import Foundation

/// The text of SMTP: replies as the server writes them, and a message as DATA carries it.
enum SMTPMessageFormat {
    /// The address in `Name <address>` or a bare `address`; nil when there is none.
    static func address(in mailbox: String) -> String? {
        var candidate = mailbox.trimmingCharacters(in: .whitespaces)
        if let open = candidate.lastIndex(of: "<"), candidate.hasSuffix(">") {
            candidate = String(candidate[candidate.index(after: open)..<candidate.index(before: candidate.endIndex)])
        }
        let parts = candidate.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !candidate.contains(where: { $0 == " " || $0 == "<" || $0 == ">" })
        else { return nil }
        return candidate
    }

    /// The message as DATA sends it: headers, a blank line, the body with CRLF line ends, every
    /// line that starts with a dot given a second one (RFC 5321 4.5.2: a lone dot would end the
    /// message), and the terminating `.` line.
    static func data(_ message: MailMessage, from: String, date: Date, messageID: String) -> String {
        let headers = [
            "From: \(from)",
            "To: <\(message.to)>",
            "Subject: \(encodedHeader(message.subject))",
            "Date: \(rfc5322(date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ]
        let lines = message.body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        let body = lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        return (headers + [""] + body + ["."]).joined(separator: "\r\n") + "\r\n"
    }

    /// A header value as is when it is printable ASCII, else as RFC 2047 encoded words: each
    /// holds whole characters and at most 45 bytes of UTF-8, so that none passes the 75 characters
    /// RFC 2047 allows; they are folded onto continuation lines, and a reader joins them again.
    static func encodedHeader(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard flat.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value > 0x7E }) else { return flat }
        var words: [String] = []
        var chunk = ""
        for character in flat {
            if chunk.utf8.count + character.utf8.count > 45, !chunk.isEmpty {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?utf-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// One reply of the server: its code and its lines' text (`250-PIPELINING`, `250 OK` give 250,
/// ["PIPELINING", "OK"]).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    /// The extensions an EHLO reply names, upper-cased, after the greeting line
    /// (`AUTH PLAIN LOGIN` is "AUTH" with its parameters).
    var extensions: [String: [String]] {
        var found: [String: [String]] = [:]
        for line in lines.dropFirst() {
            let words = line.uppercased().split(separator: " ").map(String.init)
            if let name = words.first { found[name] = Array(words.dropFirst()) }
        }
        return found
    }
}

/// Splits the bytes the server sends into replies: lines end with CRLF, and a reply's lines all
/// carry its code, followed by `-` on every line but the last, which has a space (RFC 5321 4.2).
struct SMTPReplyReader {
    private var pending: [UInt8] = []
    private var lines: [String] = []
    /// A longer line is not SMTP (RFC 5321 allows 512 bytes): the server is not one.
    static let maximumLineLength = 4096

    /// Adds bytes; the replies they complete, in order.
    mutating func add(_ bytes: some Sequence<UInt8>) throws(MailError) -> [SMTPReply] {
        pending.append(contentsOf: bytes)
        var replies: [SMTPReply] = []
        while let end = lineEnd() {
            let line = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeSubrange(...(end + 1))
            if let reply = try take(line) { replies.append(reply) }
        }
        guard pending.count <= Self.maximumLineLength else { throw MailError("the SMTP server sent a line longer than \(Self.maximumLineLength) bytes") }
        return replies
    }

    private func lineEnd() -> Int? {
        guard pending.count >= 2 else { return nil }
        return (0..<(pending.count - 1)).first { pending[$0] == 13 && pending[$0 + 1] == 10 }
    }

    private mutating func take(_ line: String) throws(MailError) -> SMTPReply? {
        let characters = Array(line)
        guard characters.count >= 3, let code = Int(String(characters[0..<3])), (200...599).contains(code),
              characters.count == 3 || characters[3] == " " || characters[3] == "-"
        else { throw MailError("the SMTP server sent a line that is no reply: \(line.prefix(80))") }
        lines.append(characters.count > 4 ? String(characters[4...]) : "")
        guard characters.count == 3 || characters[3] == " " else { return nil }
        defer { lines = [] }
        return SMTPReply(code: code, lines: lines)
    }
}
