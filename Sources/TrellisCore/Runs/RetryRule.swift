/// A task's retry settings, resolved from the pipeline file: how often, which failures, and how long to wait.
public struct RetryRule: Codable, Sendable, Equatable {
    /// Retries after the first attempt (so at most `limit + 1` attempts per round).
    public var limit: Int
    public var policy: PipelineSpec.RetryPolicy
    public var backoffMilliseconds: Int64
    public var factor: Double
    public var maxBackoffMilliseconds: Int64?

    public static let none = RetryRule(limit: 0, policy: .onFailure, backoffMilliseconds: 0, factor: 1, maxBackoffMilliseconds: nil)

    public init(limit: Int, policy: PipelineSpec.RetryPolicy, backoffMilliseconds: Int64, factor: Double, maxBackoffMilliseconds: Int64?) {
        self.limit = limit
        self.policy = policy
        self.backoffMilliseconds = backoffMilliseconds
        self.factor = factor
        self.maxBackoffMilliseconds = maxBackoffMilliseconds
    }

    /// From a task's `retry`, already validated; field names the task in errors.
    public init(_ retry: PipelineSpec.Retry?, field: String) throws(ValidationError) {
        guard let retry else {
            self = .none
            return
        }
        let backoff = retry.backoff
        self.init(
            limit: retry.limit,
            policy: retry.policy ?? .onFailure,
            backoffMilliseconds: try backoff?.duration.map { text throws(ValidationError) in
                try DurationText.parse(text, field: "\(field).retry.backoff.duration").milliseconds
            } ?? 0,
            factor: backoff?.factor ?? 2,
            maxBackoffMilliseconds: try backoff?.maxDuration.map { text throws(ValidationError) in
                try DurationText.parse(text, field: "\(field).retry.backoff.maxDuration").milliseconds
            }
        )
    }

    /// Whether this outcome of the `attempt`-th attempt of a round (from 1) is retried, and after how long
    /// (Argo's rule: `duration × factor^(attempt-1)`, capped at `maxDuration`); nil: the task ends with it.
    public func delay(after outcome: AttemptOutcome, attempt: Int) -> Duration? {
        guard attempt <= limit else { return nil }
        switch (outcome, policy) {
        case (.succeeded, _), (.cancelled, _): return nil
        case (.error, .onFailure): return nil
        case (.failed, .onError), (.timedOut, .onError): return nil
        default: break
        }
        var wait = Double(backoffMilliseconds)
        for _ in 1..<max(attempt, 1) { wait *= factor }
        if let maxBackoffMilliseconds { wait = min(wait, Double(maxBackoffMilliseconds)) }
        return .milliseconds(Int64(min(wait, Double(Int64.max / 2))))
    }
}

extension Duration {
    /// Whole milliseconds.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
