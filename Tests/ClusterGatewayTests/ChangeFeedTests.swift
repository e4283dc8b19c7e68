import Testing

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

    /// A server shutting down cancels the orchestrator's wait; it must end then, not when its timer fires (an
    /// hour here: the time limit fails the test if it waits for that).
    @Test(.timeLimit(.minutes(1))) func aCancelledWaitEndsAtOnce() async throws {
        let feed = ChangeFeed()
        let waiting = Task { await feed.changes(after: 0, wait: .seconds(3600)) }
        waiting.cancel()
        let changes = await waiting.value
        #expect(changes.ids.isEmpty && changes.cursor == 0)
    }
}
