import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Testing
@testable import TodoStore
import TodoRuntime

/// A request's task stays on its connection's event loop, and so do its database calls.
@Suite struct EventLoopExecutorTests {
    private let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())

    @Test func aTaskPreferringALoopResumesOnItAfterEveryAwait() async throws {
        for loop in loops {
            let executor = EventLoopExecutor.of(loop)
            #expect(executor === EventLoopExecutor.of(loop))
            let stayed = try await withTaskExecutorPreference(executor) {
                var stayed = loop.inEventLoop
                for _ in 0..<3 {
                    try await Task.sleep(for: .milliseconds(1))
                    try await NIOThreadPool.singleton.runIfActive {}  // resumed from another thread
                    stayed = stayed && loop.inEventLoop && EventLoopExecutor.current === executor
                }
                return stayed
            }
            #expect(stayed)
        }
    }

    @Test func deadlineWorkRunsOnTheCallersLoopAndTheTimerStillAnswers() async throws {
        let loop = try #require(loops.last)
        try await withTaskExecutorPreference(EventLoopExecutor.of(loop)) { () async throws -> Void in
            let workOnLoop = try await withDeadline(.seconds(5)) { loop.inEventLoop }
            #expect(workOnLoop)
            let started = ContinuousClock.now
            await #expect(throws: StoreError.self) {
                try await withDeadline(.milliseconds(100)) { try await Task.sleep(for: .seconds(30)) }
            }
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test(.enabled(if: Backend.postgresURL != nil || Backend.postgresRequired))
    func queriesTakeAConnectionOfTheCallersLoop() async throws {
        guard let url = Backend.postgresURL else { throw MissingPostgres() }
        var configuration = try DatabaseLocation(url: url).postgresConfiguration(poolSize: 4, connectTimeout: .seconds(5))
        configuration.options.minimumConnections = 0
        let pools = LoopPools(configuration: configuration, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pools.run() }
            defer { group.cancelAll() }
            for loop in loops {
                try await withTaskExecutorPreference(EventLoopExecutor.of(loop)) {
                    let connectionLoop = try await pools.current.withConnection { $0.eventLoop }
                    #expect(connectionLoop === loop)
                }
            }
        }
    }
}
