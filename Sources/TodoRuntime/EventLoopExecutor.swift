import NIOCore
import NIOPosix
import Synchronization

/// Runs Swift tasks on a NIO event loop. A connection's task that prefers the executor of its
/// channel's loop (`withTaskExecutorPreference`) runs on the thread that reads and writes its
/// socket, and often its database connection too: an `await` then resumes without waking
/// another thread: those wake-ups were about a third of the backend's CPU in a list request.
/// Work that blocks (password hashing, SQLite) must still go to a thread pool.
public final class EventLoopExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// The executor of `eventLoop`; always the same object for a loop, so that a task already
    /// on it is recognised as such and not queued again.
    public static func of(_ eventLoop: any EventLoop) -> EventLoopExecutor {
        executors.withLock { executors in
            let key = ObjectIdentifier(eventLoop)
            if let executor = executors[key] { return executor }
            let executor = EventLoopExecutor(eventLoop)
            executors[key] = executor
            return executor
        }
    }

    /// The executor of the event loop this thread runs, if it is one.
    public static var current: EventLoopExecutor? {
        MultiThreadedEventLoopGroup.currentEventLoop.map(of)
    }

    // Loops live as long as their group, and a process has a handful of groups.
    private static let executors = Mutex<[ObjectIdentifier: EventLoopExecutor]>([:])
}
