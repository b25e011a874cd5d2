import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends each mail over its own SMTP connection (a few reset mails an hour need no pool).
///
/// Hand-written on swift-nio and NIOSSL, which the project already depends on: no SMTP package
/// is among its dependencies, and the part of SMTP that a notification needs (EHLO, STARTTLS,
/// AUTH PLAIN or LOGIN, MAIL, RCPT, DATA) is small. See `SMTPConfiguration` for the TLS rules.
public struct SMTPMailer: Mailer {
    let configuration: SMTPConfiguration
    let tls: NIOSSLContext
    let group: any EventLoopGroup

    public init(_ configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile { tls.trustRoots = .file(caFile) }
        self.tls = try NIOSSLContext(configuration: tls)
        self.group = group
    }

    public func send(_ message: MailMessage) async throws {
        let timeout = configuration.timeout
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await deliver(message) }
            tasks.addTask {
                try await Task.sleep(for: timeout)
                throw MailError("the SMTP server did not finish within \(timeout)")
            }
            defer { tasks.cancelAll() }
            try await tasks.next()
        }
    }

    private func deliver(_ message: MailMessage) async throws {
        let implicitTLS = configuration.security == .implicitTLS
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS { try channel.pipeline.syncOperations.addHandler(try tlsHandler()) }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect(220)
            var extensions = try await session.hello(Self.clientName(configuration.senderAddress))
            var secure = implicitTLS
            if !secure, extensions["STARTTLS"] != nil {
                try await session.command("STARTTLS", expect: 220)
                // Added on the channel's loop: the TLS handler is not Sendable. It goes first, next to
                // the socket, and starts the handshake at once; nothing was left unread after 220.
                try await channel.channel.eventLoop.submit {
                    try channel.channel.pipeline.syncOperations.addHandler(try tlsHandler(), position: .first)
                }.get()
                secure = true
                extensions = try await session.hello(Self.clientName(configuration.senderAddress))
            }
            if let user = configuration.user, let password = configuration.password {
                guard secure else { throw MailError("the SMTP server offers no STARTTLS: the password is not sent in plain text") }
                try await session.authenticate(user: user, password: password, methods: extensions["AUTH"] ?? [])
            }
            try await session.command("MAIL FROM:<\(configuration.senderAddress)>", expect: 250)
            try await session.command("RCPT TO:<\(message.to)>", expect: 250, 251)
            try await session.command("DATA", expect: 354)
            let messageID = Self.messageID(message.messageID ?? UUID().uuidString.lowercased(), from: configuration.senderAddress)
            try await session.write(SMTPMessageFormat.data(message, from: configuration.from, date: Date(), messageID: messageID))
            try await session.expect(250)
            _ = try? await session.command("QUIT", expect: 221)
        }
    }

    private func tlsHandler() throws -> NIOSSLClientHandler {
        // SNI takes host names only; an IP address is checked against the certificate's IP entries.
        let isAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
        return try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : configuration.host)
    }

    /// A stable `Message-ID` for a notification: `<name>@<the sender's domain>`, `name` made of
    /// the characters a message id allows (RFC 5322 dot-atom), others replaced by `-`.
    public static func messageID(_ name: String, from sender: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+=")
        let local = String(name.map { allowed.contains($0) ? $0 : "-" })
        return "\(local)@\(clientName(SMTPMessageFormat.address(in: sender) ?? sender))"
    }

    /// EHLO names the client by the sender's domain: the host has no better public name to give.
    static func clientName(_ sender: String) -> String {
        sender.split(separator: "@").last.map(String.init) ?? "localhost"
    }
}

/// One SMTP conversation: commands out, replies in.
struct SMTPSession {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var reader = SMTPReplyReader()
    var ready: [SMTPReply] = []

    mutating func hello(_ name: String) async throws -> [String: [String]] {
        try await command("EHLO \(name)", expect: 250).extensions
    }

    /// AUTH PLAIN when offered, else AUTH LOGIN.
    mutating func authenticate(user: String, password: String, methods: [String]) async throws {
        if methods.contains("PLAIN") || !methods.contains("LOGIN") {
            let credentials = Data(("\0" + user + "\0" + password).utf8).base64EncodedString()
            try await command("AUTH PLAIN \(credentials)", expect: 235, redacted: "AUTH PLAIN")
        } else {
            try await command("AUTH LOGIN", expect: 334)
            try await command(Data(user.utf8).base64EncodedString(), expect: 334, redacted: "user name")
            try await command(Data(password.utf8).base64EncodedString(), expect: 235, redacted: "password")
        }
    }

    /// Sends a command line and waits for its reply; a reply with another code is an error
    /// that quotes it (and the command, unless `redacted` names what to show instead).
    @discardableResult
    mutating func command(_ line: String, expect codes: Int..., redacted: String? = nil) async throws -> SMTPReply {
        try await write(line + "\r\n")
        return try await expect(codes, after: redacted ?? line)
    }

    mutating func expect(_ codes: Int...) async throws {
        _ = try await expect(codes, after: "the connection")
    }

    mutating func write(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    private mutating func expect(_ codes: [Int], after what: String) async throws -> SMTPReply {
        let reply = try await nextReply()
        guard codes.contains(reply.code) else {
            throw MailError(
                "the SMTP server answered \(what.prefix(40)) with \(reply.code) \(reply.lines.joined(separator: " ").prefix(200))", replyCode: reply.code)
        }
        return reply
    }

    private mutating func nextReply() async throws -> SMTPReply {
        while ready.isEmpty {
            guard let bytes = try await inbound.next() else { throw MailError("the SMTP server closed the connection") }
            ready += try reader.add(bytes.readableBytesView)
        }
        return ready.removeFirst()
    }
}
