import Synchronization
import Testing
import TrellisTestSupport

@testable import ClusterGateway

/// The feed of ended executions the orchestrator long-polls.
@Suite struct ChangeFeedTests {
    @Test func aWaiterIsWokenByTheNextChange() async throws {
        let feed = ChangeFeed()
        let waiting = Task { await feed.changes(after: 0, wait: .seconds(3600)) }
        await feed.record("execution-1")
        let changes = await waiting.value
        #expect(changes.ids == ["execution-1"] && changes.cursor == 1 && !changes.reset)
    }

    /// A server shutting down cancels the orchestrator's wait; it must end then, not when its timer fires. The
    /// timer here never fires by itself (its clock stands still until cancelled), so the wait can end only by the
    /// cancel; and the timer is cancelled with it. The time limit only keeps a broken feed from hanging the suite.
    @Test(.timeLimit(.minutes(1))) func aCancelledWaitEndsAtOnce() async throws {
        let timers = StillClock()
        let feed = ChangeFeed(sleep: timers.sleep)
        let waiting = Task { await feed.changes(after: 0, wait: .seconds(1)) }
        waiting.cancel()
        let changes = await waiting.value
        #expect(changes.ids.isEmpty && changes.cursor == 0)
        try await Waiting.until("the wait's timer to be cancelled") { timers.cancelled == timers.started }
    }

    /// The timer of a wait that nobody cancels fires: the waiter gets an empty answer at the same cursor.
    @Test(.timeLimit(.minutes(1))) func aWaitEndsWhenItsTimerFires() async throws {
        let feed = ChangeFeed(sleep: { _ in })
        let changes = await feed.changes(after: 0, wait: .seconds(3600))
        #expect(changes.ids.isEmpty && changes.cursor == 0 && !changes.reset)
    }
}

/// Timers whose time never passes: a sleep ends only when its task is cancelled.
final class StillClock: Sendable {
    private let counts = Mutex((started: 0, cancelled: 0))
    var started: Int { counts.withLock { $0.started } }
    var cancelled: Int { counts.withLock { $0.cancelled } }

    @Sendable func sleep(_: Duration) async {
        counts.withLock { $0.started += 1 }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        counts.withLock { $0.cancelled += 1 }
    }
}
