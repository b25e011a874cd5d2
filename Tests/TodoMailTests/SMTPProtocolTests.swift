import Foundation
import Testing
@testable import TodoMail

/// The text of SMTP, without a server: replies, messages, the settings.
@Suite struct SMTPProtocolTests {
    @Test func aMultiLineReplyEndsAtTheLineWithASpace() throws {
        var reader = SMTPReplyReader()
        #expect(try reader.add(Array("250-mail.example greets you\r\n250-STARTTLS\r\n".utf8)).isEmpty)
        let replies = try reader.add(Array("250 AUTH PLAIN LOGIN\r\n220 ready".utf8))
        #expect(replies == [SMTPReply(code: 250, lines: ["mail.example greets you", "STARTTLS", "AUTH PLAIN LOGIN"])])
        #expect(replies.first?.extensions == ["STARTTLS": [], "AUTH": ["PLAIN", "LOGIN"]])
        #expect(try reader.add(Array("\r\n".utf8)) == [SMTPReply(code: 220, lines: ["ready"])])
    }

    @Test func aReplySplitAcrossReadsIsJoined() throws {
        var reader = SMTPReplyReader()
        #expect(try reader.add(Array("35".utf8)).isEmpty)
        #expect(try reader.add(Array("4 go ahead\r".utf8)).isEmpty)
        #expect(try reader.add(Array("\n".utf8)) == [SMTPReply(code: 354, lines: ["go ahead"])])
    }

    @Test func aLineThatIsNoReplyIsAnError() {
        var reader = SMTPReplyReader()
        #expect(throws: MailError.self) { try reader.add(Array("HTTP/1.1 400 Bad Request\r\n".utf8)) }
        var endless = SMTPReplyReader()
        #expect(throws: MailError.self) { try endless.add([UInt8](repeating: 65, count: SMTPReplyReader.maximumLineLength + 1)) }
    }

    @Test func theMessageHasCRLFLinesAndDotStuffing() {
        let message = MailMessage(to: "ann@example.com", subject: "Reset", body: "first\n.hidden\n..two\nlast")
        let data = SMTPMessageFormat.data(message, from: "Todo <todo@example.com>", date: Date(timeIntervalSince1970: 0), messageID: "id@example.com")
        #expect(data.hasPrefix("From: Todo <todo@example.com>\r\nTo: <ann@example.com>\r\nSubject: Reset\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(data.hasSuffix("\r\n\r\nfirst\r\n..hidden\r\n...two\r\nlast\r\n.\r\n"))
        #expect(!data.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func aSubjectBeyondASCIIIsAnEncodedWord() {
        #expect(SMTPMessageFormat.encodedHeader("Passwort zurücksetzen") == "=?utf-8?B?UGFzc3dvcnQgenVyw7xja3NldHplbg==?=")
        #expect(SMTPMessageFormat.encodedHeader("two\r\nBcc: x@example.com") == "two  Bcc: x@example.com")
    }

    @Test func aLongNonASCIISubjectIsFoldedIntoShortWordsOfWholeCharacters() {
        let title = "Reminder: " + String(repeating: "café ☕️ 日本語 ", count: 8)
        let header = SMTPMessageFormat.encodedHeader(title)
        let words = header.components(separatedBy: "\r\n ")
        #expect(words.count > 1 && words.allSatisfy { $0.count <= 75 && $0.hasPrefix("=?utf-8?B?") && $0.hasSuffix("?=") })
        let decoded = words.map { word in
            let base64 = word.dropFirst("=?utf-8?B?".count).dropLast(2)
            return Data(base64Encoded: String(base64)).flatMap { String(data: $0, encoding: .utf8) } ?? "?"
        }
        #expect(decoded.joined() == title)
    }

    @Test func aNotificationKeepsTheMessageIDItIsGiven() {
        let id = SMTPMailer.messageID("reminder-42.u/1", from: "Todo <todo@example.com>")
        #expect(id == "reminder-42.u-1@example.com")
        let message = MailMessage(to: "ann@example.com", subject: "Reminder: x", body: "x", messageID: "reminder-42.u/1")
        let data = SMTPMessageFormat.data(message, from: "todo@example.com", date: Date(timeIntervalSince1970: 0), messageID: id)
        #expect(data.contains("\r\nMessage-ID: <reminder-42.u-1@example.com>\r\n"))
    }

    @Test func theURLGivesSecurityPortAndDecodedCredentials() throws {
        let implicit = try SMTPConfiguration(url: "smtps://mailer%40example.com:p%3Ass@mail.example.com", from: "todo@example.com")
        #expect(implicit.security == .implicitTLS && implicit.port == 465 && implicit.host == "mail.example.com")
        #expect(implicit.user == "mailer@example.com" && implicit.password == "p:ss")
        let plain = try SMTPConfiguration(url: "smtp://[::1]:2525", from: "Todo <todo@example.com>")
        #expect(plain.security == .startTLSWhenOffered && plain.port == 2525 && plain.host == "::1" && plain.user == nil)
        #expect(plain.senderAddress == "todo@example.com")
        #expect(try SMTPConfiguration(url: "smtp://relay", from: "todo@example.com").port == 25)
    }

    @Test(arguments: ["http://mail.example.com", "smtp://", "smtp://user@mail.example.com", "smtp://mail.example.com/path", "smtp://mail.example.com?tls=no"])
    func aURLThatIsNotSMTPIsRefused(_ url: String) {
        #expect(throws: MailError.self) { try SMTPConfiguration(url: url, from: "todo@example.com") }
    }

    @Test(arguments: ["", "todo", "Todo <>", "todo@example.com\r\nBcc: x@example.com"])
    func aSenderThatIsNoAddressIsRefused(_ from: String) {
        #expect(throws: MailError.self) { try SMTPConfiguration(url: "smtp://relay", from: from) }
    }
}
