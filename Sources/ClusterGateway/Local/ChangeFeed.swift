import Foundation
import ServiceContracts
import TrellisHTTP

/// Executions that ended and runs whose Workflow changed, in order, for the orchestrator to long-poll
/// (`changes(after:wait:)`). Kept in memory: after a restart the cursor starts again and a caller ahead of it is told
/// to `reset` (check everything).
actor ChangeFeed {
    private var sequence: UInt64 = 0
    private var recent: [(sequence: UInt64, id: String, isRun: Bool)] = []
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    /// How a wait's timer passes its time: `Task.sleep`, or a clock a test holds still.
    private let sleep: @Sendable (Duration) async -> Void
    static let kept = 10_000

    init(sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }) {
        self.sleep = sleep
    }

    /// An execution ended.
    func record(_ id: String) {
        append(id, isRun: false)
    }

    /// The Workflow of a run changed.
    func record(run id: String) {
        append(id, isRun: true)
    }

    private func append(_ id: String, isRun: Bool) {
        sequence += 1
        recent.append((sequence, id, isRun))
        if recent.count > Self.kept { recent.removeFirst(recent.count - Self.kept) }
        let ready = waiters
        waiters.removeAll()
        for waiter in ready.values { waiter.resume() }
    }

    func changes(after cursor: UInt64, wait: Duration) async -> ExecutionChanges {
        if let answer = answer(after: cursor) { return answer }
        let token = UUID()
        let timer = Task { [sleep] in
            await sleep(wait)
            await self.wake(token)
        }
        // Cancelled (the server shutting down), the wait ends at once, not when the timer fires.
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled { continuation.resume() } else { waiters[token] = continuation }
            }
        } onCancel: {
            Task { await self.wake(token) }
        }
        timer.cancel()
        return answer(after: cursor) ?? ExecutionChanges(cursor: sequence, ids: [], reset: false)
    }

    private func wake(_ token: UUID) {
        waiters.removeValue(forKey: token)?.resume()
    }

    private func answer(after cursor: UInt64) -> ExecutionChanges? {
        let oldest = recent.first?.sequence ?? sequence + 1
        if cursor > sequence || cursor + 1 < oldest && cursor < sequence {
            return ExecutionChanges(cursor: sequence, ids: [], reset: true)
        }
        let new = recent.filter { $0.sequence > cursor }
        guard !new.isEmpty else { return nil }
        return ExecutionChanges(
            cursor: sequence, ids: new.filter { !$0.isRun }.map(\.id), runs: Array(Set(new.filter(\.isRun).map(\.id))), reset: false)
    }
}
