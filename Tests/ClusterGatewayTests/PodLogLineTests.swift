import Foundation
import Testing

@testable import ClusterGateway

/// Pods' log lines as the API server stamps them, read to the millisecond and written as local logs are; replicas'
/// lines interleaved by time.
@Suite struct PodLogLineTests {
    @Test func aStampedLineIsReadToTheMillisecond() {
        let line = PodLogLine(kubernetes: "2026-12-05T10:00:00.123456789Z loss 0.25 at step 3", previous: 0)
        #expect(line == PodLogLine(milliseconds: 1_796_464_800_123, text: "loss 0.25 at step 3"))
        #expect(line.written() == "2026-12-05T10:00:00.123Z loss 0.25 at step 3\n")
        #expect(line.written(prefix: PodLogLine.prefix(rank: 1, of: 2)) == "2026-12-05T10:00:00.123Z [replica-1] loss 0.25 at step 3\n")
        #expect(PodLogLine.prefix(rank: 0, of: 1) == "")
        #expect(PodLogLine(kubernetes: "2026-12-05T10:00:00Z ", previous: 0) == PodLogLine(milliseconds: 1_796_464_800_000, text: ""))
        #expect(PodLogLine(kubernetes: "2026-12-05T10:00:00.5Z x", previous: 0).milliseconds == 1_796_464_800_500)
        // Without a stamp it can read, a line keeps the time of the one before.
        for text in ["no stamp here", "2026-12-05 10:00:00Z x", "2026-12-05T10:00:00.Z x", "2026-13-05T10:00:0xZ x", ""] {
            #expect(PodLogLine(kubernetes: text, previous: 42) == PodLogLine(milliseconds: 42, text: text), "\(text)")
        }
    }

    @Test func replicasAreInterleavedByTimeEachInItsOwnOrder() {
        let line = { (at: Int64, text: String) in PodLogLine(milliseconds: at, text: text) }
        let merged = PodLogLine.interleave([
            [line(1, "a1"), line(5, "a5"), line(5, "a5 again"), line(2, "a2 late stamp")],
            [line(3, "b3"), line(5, "b5")],
            [],
        ])
        #expect(merged.map(\.rank) == [0, 1, 0, 0, 0, 1])
        #expect(merged.map(\.line.text) == ["a1", "b3", "a5", "a5 again", "a2 late stamp", "b5"])
        #expect(PodLogLine.interleave([]).isEmpty)
    }
}
