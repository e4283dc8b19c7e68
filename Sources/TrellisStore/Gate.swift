import Synchronization

/// Opens once and stays open; those who wait before then resume when it opens. PostgreSQL's pool leases no
/// connection before its `run()` has started (it queues the lease and warns), so statements wait here for it.
final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        if state.withLock({ $0.isOpen }) { return }
        await withCheckedContinuation { waiter in
            let openAlready = state.withLock { state in
                if !state.isOpen { state.waiters.append(waiter) }
                return state.isOpen
            }
            if openAlready { waiter.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
