import Testing
import TrellisHTTP

/// Services wait for the tables to be ready; a wait ends when the platform stops before they are (its start failed).
@Suite struct ReadinessTests {
    @Test func aWaitEndsFalseWhenCancelledAndTrueOnceOpen() async {
        let ready = Readiness()
        let cancelled = Task { await ready.wait() }
        cancelled.cancel()
        #expect(await cancelled.value == false)
        let waiting = Task { await ready.wait() }
        await ready.open()
        #expect(await waiting.value == true)
        #expect(await ready.wait() == true)
    }
}
