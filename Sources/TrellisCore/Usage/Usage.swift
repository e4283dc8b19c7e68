import Foundation

/// Resource use at one instant (or over one step of a series): CPU in cores, memory in bytes, and GPU utilisation
/// (percent) and memory where a GPU was used.
public struct UsagePoint: Codable, Sendable, Equatable {
    public var at: Date
    public var cpuCores: Double
    public var memoryBytes: Int64
    /// Threads of a local replica's processes.
    public var threads: Int?
    public var gpuPercent: Double?
    public var gpuMemoryBytes: Int64?

    public init(
        at: Date, cpuCores: Double, memoryBytes: Int64, threads: Int? = nil, gpuPercent: Double? = nil, gpuMemoryBytes: Int64? = nil
    ) {
        self.at = at
        self.cpuCores = cpuCores
        self.memoryBytes = memoryBytes
        self.threads = threads
        self.gpuPercent = gpuPercent
        self.gpuMemoryBytes = gpuMemoryBytes
    }

    /// One point per `step` (its start): CPU and GPU utilisation averaged, memory and threads at their peak — what
    /// sizing needs.
    public static func bucketed(_ points: [UsagePoint], step: Duration) -> [UsagePoint] {
        let width = max(step.milliseconds, 1)
        var buckets: [(key: Int64, points: [UsagePoint])] = []
        for point in points.sorted(by: { $0.at < $1.at }) {
            let millis = Int64((point.at.timeIntervalSince1970 * 1000).rounded())
            let key = millis - ((millis % width) + width) % width
            if buckets.last?.key == key { buckets[buckets.count - 1].points.append(point) } else { buckets.append((key, [point])) }
        }
        return buckets.map { bucket in
            let gpus = bucket.points.compactMap(\.gpuPercent)
            let gpuMemory = bucket.points.compactMap(\.gpuMemoryBytes)
            return UsagePoint(
                at: Date(timeIntervalSince1970: Double(bucket.key) / 1000),
                cpuCores: bucket.points.map(\.cpuCores).reduce(0, +) / Double(bucket.points.count),
                memoryBytes: bucket.points.map(\.memoryBytes).max() ?? 0, threads: bucket.points.compactMap(\.threads).max(),
                gpuPercent: gpus.isEmpty ? nil : gpus.reduce(0, +) / Double(gpus.count), gpuMemoryBytes: gpuMemory.max())
        }
    }
}

/// The series of one replica of an attempt (a local rank, or a pod).
public struct UsageSeries: Codable, Sendable, Equatable {
    public var replica: String
    public var points: [UsagePoint]

    public init(replica: String, points: [UsagePoint]) {
        self.replica = replica
        self.points = points
    }
}

/// What an attempt used, over all its replicas: peaks, the mean CPU of its samples, and the CPU time the kernel counted.
public struct UsageSummary: Codable, Sendable, Equatable {
    public var samples: Int
    public var peakMemoryBytes: Int64?
    public var meanCpuCores: Double?
    public var peakCpuCores: Double?
    public var cpuSeconds: Double?
    public var peakThreads: Int?
    public var peakGpuPercent: Double?
    public var peakGpuMemoryBytes: Int64?

    public init(
        samples: Int, peakMemoryBytes: Int64?, meanCpuCores: Double?, peakCpuCores: Double?, cpuSeconds: Double?,
        peakThreads: Int? = nil, peakGpuPercent: Double?, peakGpuMemoryBytes: Int64?
    ) {
        self.samples = samples
        self.peakMemoryBytes = peakMemoryBytes
        self.meanCpuCores = meanCpuCores
        self.peakCpuCores = peakCpuCores
        self.cpuSeconds = cpuSeconds
        self.peakThreads = peakThreads
        self.peakGpuPercent = peakGpuPercent
        self.peakGpuMemoryBytes = peakGpuMemoryBytes
    }
}

/// A task's `cpu` or `memory` as numbers (cores, bytes): what the chart draws as lines.
public struct ResourceBounds: Codable, Sendable, Equatable {
    public var request: Double
    public var limit: Double

    public init(request: Double, limit: Double) {
        self.request = request
        self.limit = limit
    }

    public static func cpu(_ text: String?) -> ResourceBounds? {
        guard let text, let range = try? ResourceQuantity.range(text, field: "cpu", parse: ResourceQuantity.cpu) else { return nil }
        return ResourceBounds(request: Double(range.lowerBound) / 1000, limit: Double(range.upperBound) / 1000)
    }

    public static func memory(_ text: String?) -> ResourceBounds? {
        guard let text, let range = try? ResourceQuantity.range(text, field: "memory", parse: ResourceQuantity.memory) else {
            return nil
        }
        return ResourceBounds(request: Double(range.lowerBound), limit: Double(range.upperBound))
    }
}

/// Requests suggested from what a task's attempts used: the 95th percentile of their peaks plus headroom, rounded up
/// (CPU to 50 millicores, memory to 16 MiB). Never applied by Trellis: the user takes it or not.
public struct RequestSuggestion: Codable, Sendable, Equatable {
    /// Attempts a suggestion needs before it is made.
    public static let minimumAttempts = 3
    public static let headroom = 1.2

    /// `500m`, `384Mi`: as a task's `resources` take them.
    public var cpu: String
    public var memory: String
    /// How many attempts it is drawn from.
    public var attempts: Int

    public init(cpu: String, memory: String, attempts: Int) {
        self.cpu = cpu
        self.memory = memory
        self.attempts = attempts
    }

    /// From each attempt's peak CPU (cores) and peak memory (bytes); nil below ``minimumAttempts``.
    public static func suggest(peaks: [(cpuCores: Double, memoryBytes: Int64)]) -> RequestSuggestion? {
        guard peaks.count >= minimumAttempts else { return nil }
        let cores = percentile95(peaks.map(\.cpuCores)) * headroom
        let millicores = max(50, Int64((cores * 1000 / 50).rounded(.up)) * 50)
        let mebibytes = percentile95(peaks.map { Double($0.memoryBytes) }) * headroom / 1_048_576
        let memory = max(16, Int64((mebibytes / 16).rounded(.up)) * 16)
        return RequestSuggestion(cpu: "\(millicores)m", memory: "\(memory)Mi", attempts: peaks.count)
    }

    /// The nearest-rank 95th percentile.
    static func percentile95(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((0.95 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
