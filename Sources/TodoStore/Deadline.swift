import NIOCore
import NIOPosix
import Synchronization
import TodoRuntime

/// Runs `work`, or fails with `StoreError.unavailable` once `limit` has passed. The caller is answered
/// at the deadline even if `work` does not react to cancellation at once (a pool waiting for a
/// connection to a dead server may not): `work` is cancelled and left to finish on its own.
func withDeadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation, limit: limit, work: work)
        }
    } onCancel: {
        race.cancel()
    }
}

/// The two contenders of `withDeadline`; whichever finishes first answers, exactly once.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Scheduled<Void>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, limit: Duration, work: @escaping @Sendable () async throws -> T) {
        state.withLock { $0.continuation = continuation }
        // On an event loop (a request's task), both stay on it: no other thread is woken.
        let executor = EventLoopExecutor.current
        let workTask = Task(executorPreference: executor) {
            do { self.answer(.success(try await work())) } catch { self.answer(.failure(error)) }
        }
        let timer = (executor?.eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()).scheduleTask(in: TimeAmount(limit)) {
            self.answer(.failure(StoreError.unavailable("the database did not answer within \(limit)")))
        }
        let answered = state.withLock {
            $0.work = workTask
            $0.timer = timer
            return $0.continuation == nil
        }
        if answered { timer.cancel() }  // the work was quicker than this thread
    }

    func cancel() {
        let work = state.withLock { $0.work }
        work?.cancel()
    }

    private func answer(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.work, state.timer)
        }
        guard let continuation else { return }
        timer?.cancel()
        if case .failure(let error) = result, (error as? StoreError)?.kind == .unavailable { work?.cancel() }
        continuation.resume(with: result)
    }
}
