import Foundation
import Testing
import TrellisCore

@Suite struct UsageTests {
    static func point(_ second: Double, cpu: Double, memory: Int64, gpu: Double? = nil) -> UsagePoint {
        UsagePoint(at: Date(timeIntervalSince1970: second), cpuCores: cpu, memoryBytes: memory, gpuPercent: gpu)
    }

    /// Steps average CPU and GPU and keep memory's peak, each at the step's start; unordered points are sorted first.
    @Test func stepsAverageCPUAndKeepPeakMemory() {
        let points = [
            Self.point(61, cpu: 1.0, memory: 10), Self.point(0, cpu: 0.5, memory: 30, gpu: 20),
            Self.point(30, cpu: 1.5, memory: 20, gpu: 40),
            Self.point(59.999, cpu: 1.0, memory: 5),
        ]
        let minutes = UsagePoint.bucketed(points, step: .seconds(60))
        #expect(minutes.map(\.at.timeIntervalSince1970) == [0, 60])
        #expect(minutes.map(\.cpuCores) == [1.0, 1.0])
        #expect(minutes.map(\.memoryBytes) == [30, 10])
        #expect(minutes.map(\.gpuPercent) == [30, nil])
        #expect(UsagePoint.bucketed([], step: .seconds(10)).isEmpty)
    }

    /// p95 of the peaks plus 20%, rounded up (50m, 16Mi); nothing from fewer than three attempts; never below the floor.
    @Test func suggestionsComeFromThePeaksOfAFewAttempts() {
        let mebibyte: Int64 = 1_048_576
        #expect(RequestSuggestion.suggest(peaks: [(1, 100 * mebibyte), (1, 100 * mebibyte)]) == nil)
        let suggestion = RequestSuggestion.suggest(peaks: [(0.9, 200 * mebibyte), (0.4, 100 * mebibyte), (0.5, 150 * mebibyte)])
        #expect(suggestion == RequestSuggestion(cpu: "1100m", memory: "240Mi", attempts: 3))
        // One outlier in twenty lies above the 95th percentile (nearest rank: the 19th of 20).
        let many = (0..<19).map { _ in (0.1, 10 * mebibyte) } + [(4.0, 4096 * mebibyte)]
        #expect(RequestSuggestion.suggest(peaks: many) == RequestSuggestion(cpu: "150m", memory: "16Mi", attempts: 20))
        #expect(RequestSuggestion.suggest(peaks: [(0, 0), (0, 0), (0, 0)]) == RequestSuggestion(cpu: "50m", memory: "16Mi", attempts: 3))
    }

    @Test func boundsReadRequestAndLimit() {
        #expect(ResourceBounds.cpu("500m~2") == ResourceBounds(request: 0.5, limit: 2))
        #expect(ResourceBounds.memory("1Gi") == ResourceBounds(request: 1_073_741_824, limit: 1_073_741_824))
        #expect(ResourceBounds.cpu("lots") == nil && ResourceBounds.memory(nil) == nil)
    }
}
