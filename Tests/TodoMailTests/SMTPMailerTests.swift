import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import TodoMail

/// The client against servers that misbehave, on a real socket.
@Suite struct SMTPMailerTests {
    /// A server that accepts connections and never says a word.
    static func withSilentServer(_ body: (Int) async throws -> Void) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(try #require(server.localAddress?.port))
        } catch {
            try? await server.close()
            throw error
        }
        try await server.close()
    }

    @Test func aServerThatNeverAnswersFailsTheMailAtTheTimeout() async throws {
        try await Self.withSilentServer { port in
            var configuration = try SMTPConfiguration(url: "smtp://127.0.0.1:\(port)", from: "todo@example.com")
            configuration.timeout = .milliseconds(300)
            let mailer = try SMTPMailer(configuration)
            let started = ContinuousClock.now
            await #expect(throws: MailError.self) {
                try await mailer.send(MailMessage(to: "ann@example.com", subject: "x", body: "y"))
            }
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test func aRefusedConnectionIsAnError() async throws {
        var port = 0
        try await Self.withSilentServer { port = $0 }  // closed again: nothing listens there now
        let mailer = try SMTPMailer(try SMTPConfiguration(url: "smtp://127.0.0.1:\(port)", from: "todo@example.com"))
        await #expect(throws: (any Error).self) {
            try await mailer.send(MailMessage(to: "ann@example.com", subject: "x", body: "y"))
        }
    }
}
