/// A run's state (DESIGN.md): `pending → running → succeeded | failed | cancelled`.
public enum RunState: String, Codable, Sendable, CaseIterable {
    case pending, running, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// The state of a task attempt, and of a task (its latest attempt's, or what the run decided without one).
public enum TaskState: String, Codable, Sendable, CaseIterable {
    case pending, running, succeeded, failed, skipped, cancelled
    case upstreamFailed = "upstream_failed"
    case timedOut = "timed_out"

    /// Nothing more happens to the task unless the run is resumed.
    public var isFinished: Bool { self != .pending && self != .running }
    /// Downstream tasks may start after it.
    public var letsDownstreamRun: Bool { self == .succeeded || self == .skipped }
}

/// Why a run was started.
public enum RunTrigger: String, Codable, Sendable, CaseIterable {
    /// `POST …/pipelines/{p}/runs`.
    case manual
    /// A cron tick, including the ticks a schedule catches up on after its start time or downtime.
    case schedule
    /// A tick of an explicit backfill (`POST …/pipelines/{p}/backfill`).
    case backfill
    /// One task alone, from the editor (`POST …/pipelines/{p}/tasks/{t}/run`).
    case single
}

/// How an attempt ended, as the executor reports it; decides the attempt's state and whether it is retried.
public enum AttemptOutcome: Sendable, Equatable {
    case succeeded
    /// The task's own process exited non-zero or was killed by a signal it did not get from Trellis.
    case failed(exitCode: Int?)
    case timedOut
    /// Stopped on request (cancel); never retried.
    case cancelled
    /// The platform failed: the process could not start, or its supervisor was lost.
    case error(String)

    public var state: TaskState {
        switch self {
        case .succeeded: .succeeded
        case .failed, .error: .failed
        case .timedOut: .timedOut
        case .cancelled: .cancelled
        }
    }
}
