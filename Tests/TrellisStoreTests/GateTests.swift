import Testing
import TrellisStore

/// Services wait for the tables to be ready, statements for the pool to run; a wait ends when the waiting task is
/// cancelled (the platform stopping because its start failed), or when the gate opens.
@Suite struct GateTests {
    @Test func aWaitEndsFalseWhenCancelledAndTrueOnceOpen() async {
        let gate = Gate()
        let cancelled = Task { await gate.wait() }
        cancelled.cancel()
        #expect(await cancelled.value == false)
        let waiting = Task { await gate.wait() }
        gate.open()
        #expect(await waiting.value == true)
        #expect(await gate.wait() == true)
    }
}
