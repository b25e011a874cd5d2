import Synchronization

/// Group commit: writes that arrive while a group is being committed wait together and go in the
/// next group, so a group costs one commit (one fsync; on PostgreSQL also one round trip) instead
/// of one per write. Groups are committed one at a time, under `lock`. `commit` must answer every
/// write of the group it is given, and only once its results are durable.
final class WriteGroups<Input: Sendable, Output: Sendable>: Sendable {
    struct Write: Sendable {
        var input: Input
        var continuation: CheckedContinuation<Output, any Error>

        func succeed(_ output: Output) { continuation.resume(returning: output) }
        func fail(_ error: any Error) { continuation.resume(throwing: error) }
    }

    private let lock: AsyncLock
    private let queue = Mutex<[Write]>([])
    private let commit: @Sendable ([Write]) async -> Void

    init(lock: AsyncLock = AsyncLock(), commit: @escaping @Sendable ([Write]) async -> Void) {
        self.lock = lock
        self.commit = commit
    }

    func write(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let leads = queue.withLock { queue in
                queue.append(Write(input: input, continuation: continuation))
                return queue.count == 1
            }
            // The first write of a group commits it; the others only wait for the result.
            if leads { Task { await self.commitQueued() } }
        }
    }

    private func commitQueued() async {
        await lock.withLock {
            let group = queue.withLock { queue in
                defer { queue.removeAll() }
                return queue
            }
            await commit(group)
        }
    }
}
