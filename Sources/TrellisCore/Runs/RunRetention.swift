import Foundation

/// How long a project keeps its runs (`settings.retention`): a background job deletes each finished run that ended more
/// than `days` ago or is beyond the newest `runsPerPipeline` runs of its pipeline, with its attempts, logs, resource
/// samples and schedule record. Pinned runs are kept and are not counted; runs that have not ended are never deleted;
/// neither is the run of a pipeline's newest launched tick (`dependsOnPast` reads it). Both absent: runs are kept.
public struct RunRetention: Codable, Sendable, Equatable {
    public var days: Int?
    public var runsPerPipeline: Int?

    public init(days: Int? = nil, runsPerPipeline: Int? = nil) {
        self.days = days
        self.runsPerPipeline = runsPerPipeline
    }

    /// At most a hundred years: beyond, a cutoff would precede every run anyway.
    public static let days = 1...36_500
    public static let runsPerPipeline = 1...1_000_000

    /// Whether it deletes anything.
    public var deletes: Bool { days != nil || runsPerPipeline != nil }

    /// Finished runs that ended before this instant (Unix milliseconds) are deleted; nil: none for their age.
    public func cutoff(now: Date) -> Int64? {
        days.map { Int64((now.timeIntervalSince1970 - Double($0) * 86_400) * 1000) }
    }

    /// Every problem, each naming its field under `field`.
    public func problems(at field: String) -> [ValidationError] {
        var problems: [ValidationError] = []
        if let days, !Self.days.contains(days) {
            problems.append(ValidationError(field: "\(field).days", "must be 1 to 36,500 days (leave it out to keep runs of any age)"))
        }
        if let runsPerPipeline, !Self.runsPerPipeline.contains(runsPerPipeline) {
            problems.append(
                ValidationError(
                    field: "\(field).runsPerPipeline", "must be 1 to 1,000,000 runs (leave it out to keep any number of runs)"))
        }
        return problems
    }
}
