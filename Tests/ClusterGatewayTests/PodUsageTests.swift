import Foundation
import Testing

@testable import ClusterGateway

@Suite struct PodUsageQueryTests {
    /// The pods' names are matched exactly (a dot is no wildcard), containers without a name (the pod's cgroup) and the
    /// pause container are left out of CPU and memory, and a quote cannot leave the string.
    @Test func queriesSelectTheAttemptsPodsAndContainers() {
        let queries = PodUsage.queries(namespace: "trellis-ml", pods: ["train.a-1", "train-b"])
        #expect(
            queries.memory
                == #"sum by (pod) (container_memory_working_set_bytes{namespace="trellis-ml",pod=~"train\\.a-1|train-b",container!="",container!="POD"})"#
        )
        #expect(queries.cpu.hasPrefix("sum by (pod) (rate(container_cpu_usage_seconds_total{") && queries.cpu.hasSuffix("[1m]))"))
        #expect(queries.gpu == #"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace="trellis-ml",pod=~"train\\.a-1|train-b"})"#)
        #expect(PodUsage.quoted(#"a"b\c"#) == #""a\"b\\c""#)
    }

    /// One sample per pod and instant, the replica its index among the attempt's pods; GPU memory from MiB.
    @Test func seriesMergeIntoSamplesPerPod() {
        let samples = PodUsage.samples(
            pods: ["p0", "p1"], cpu: ["p0": [(10, 0.5), (15, 0.75)], "p1": [(10, 1)]], memory: ["p0": [(10, 100)], "p9": [(10, 5)]],
            gpu: ["p1": [(10, 40)]], gpuMemory: ["p1": [(10, 2)]])
        #expect(samples.map(\.pod) == ["p0", "p0", "p1"])
        #expect(samples.map(\.replica) == [0, 0, 1])
        #expect(samples.map(\.cpuPercent) == [50, 75, 100])
        #expect(samples.map(\.rssBytes) == [100, 0, 0])
        #expect(samples[2].gpuPercent == 40 && samples[2].gpuMemoryBytes == 2 << 20)
    }

    /// From the attempt's start at first, then after the last point; a long window is stepped coarser, and an ended
    /// attempt's ends shortly after it.
    @Test func windowsFollowTheLastPoint() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let first = PodUsage.window(after: 0, startedAt: now.addingTimeInterval(-60), finishedAt: nil, now: now)
        #expect(first.start == 999_940 && first.end == 1_000_000 && first.step == 5)
        let next = PodUsage.window(after: 999_990_000, startedAt: nil, finishedAt: nil, now: now)
        #expect(next.start == 999_995 && next.step == 5)
        let long = PodUsage.window(after: 0, startedAt: now.addingTimeInterval(-86_400), finishedAt: nil, now: now)
        #expect(long.step == 9)
        let ended = PodUsage.window(after: 0, startedAt: now.addingTimeInterval(-600), finishedAt: now.addingTimeInterval(-300), now: now)
        #expect(ended.end == 999_715)
    }
}
