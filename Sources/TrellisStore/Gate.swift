import Synchronization

/// A gate that opens once: a database's pool that starts running, a platform whose tables are ready. Waiters resume
/// when it opens, or as soon as their own task is cancelled — whatever waits under `cancelWhenGracefulShutdown` still
/// stops when the gate never opens (a start that failed).
public final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var nextToken: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// True once open; false when the waiting task is cancelled first.
    public func wait() async -> Bool {
        let token: UInt64? = state.withLock { state in
            guard !state.isOpen else { return nil }
            state.nextToken += 1
            return state.nextToken
        }
        guard let token else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                // Open or cancelled since the look above: answered now (a cancellation handler that ran already
                // found no waiter to resume).
                let answer: Bool? = state.withLock { state in
                    if state.isOpen { return true }
                    if Task.isCancelled { return false }
                    state.waiters[token] = waiter
                    return nil
                }
                if let answer { waiter.resume(returning: answer) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: token) }?.resume(returning: false)
        }
    }
}
