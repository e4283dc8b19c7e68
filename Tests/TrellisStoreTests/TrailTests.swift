import Synchronization
import Testing
import TrellisTestSupport

/// A test on a fresh database is watched: still running long after it should have ended, it says which steps are open.
@Suite struct TrailTests {
    @Test func aWatchedTestNamesItsOpenStepsAndTheLastOneEnded() async throws {
        let reports = Mutex<[String]>([])
        try await Trail.watching(every: .milliseconds(20), report: { text in reports.withLock { $0.append(text) } }) {
            try await Trail.step("the platform") {
                await Trail.step("GET /a") {}
                try await Trail.step("GET /b") {
                    try await Waiting.until("a report") { reports.withLock { !$0.isEmpty } }
                }
            }
        }
        let first = try #require(reports.withLock { $0.first })
        #expect(first.hasPrefix("still running after "), "\(first)")
        #expect(first.contains(" s; open: the platform ("), "\(first)")
        #expect(first.contains(" s) › GET /b ("), "\(first)")
        #expect(first.contains("; last ended: GET /a, "), "\(first)")
    }

    @Test func aWatchInsideAnotherAddsToItsTrail() async {
        await Trail.watching(report: { _ in }) {
            await Trail.step("outer") {
                await Trail.watching(report: { _ in }) {
                    await Trail.step("inner") {
                        #expect(Trail.current?.description.contains("open: outer (") == true)
                        #expect(Trail.current?.description.contains(" › inner (") == true)
                    }
                }
            }
        }
    }

    @Test func outsideAWatchStepsJustRun() async {
        #expect(Trail.current == nil)
        #expect(await Trail.step("alone") { 42 } == 42)
    }
}
