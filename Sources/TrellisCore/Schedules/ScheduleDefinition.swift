import Foundation

/// A pipeline's schedule as the scheduler keeps it: the document's `spec.schedule` with its defaults applied and its
/// start time fixed to an instant.
///
/// Changing the cron or the time zone resets the start to the instant of the save, unless the save also gives a new
/// `startTime` (as cube-studio does): otherwise a new expression would backfill every tick of it since the old start.
public struct ScheduleDefinition: Codable, Sendable, Equatable {
    public var cron: String
    public var timezone: String
    /// The document's `startTime`, as written (nil when absent), to tell whether a save changed it.
    public var startTimeText: String?
    /// Unix milliseconds: the first tick is the first one at or after it.
    public var startTime: Int64
    public var catchup: Bool
    public var dependsOnPast: Bool
    public var maxActiveRuns: Int
    public var expiredLimit: Int

    public static let defaultMaxActiveRuns = 1

    /// The definition of `schedule` saved at `savedAt` (Unix milliseconds) over `previous`. The schedule must be valid
    /// (``PipelineSpec/Schedule/problems()`` empty).
    public init(_ schedule: PipelineSpec.Schedule, savedAt: Int64, previous: ScheduleDefinition?) throws(ValidationError) {
        let timezone = schedule.timezone ?? "UTC"
        guard let zone = TimeZone(identifier: timezone) else {
            throw ValidationError(field: "spec.schedule.timezone", "\"\(timezone)\" is not an IANA time zone")
        }
        cron = schedule.cron
        self.timezone = timezone
        startTimeText = schedule.startTime
        catchup = schedule.catchup ?? true
        dependsOnPast = schedule.dependsOnPast ?? false
        maxActiveRuns = schedule.maxActiveRuns ?? Self.defaultMaxActiveRuns
        expiredLimit = schedule.expiredLimit ?? 0
        let given = try schedule.startTime.map { text throws(ValidationError) in
            guard let date = PipelineSpec.Schedule.parseStartTime(text, in: zone) else {
                throw ValidationError(field: "spec.schedule.startTime", "\"\(text)\" is not a date and time such as 2026-11-01T00:00:00")
            }
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        switch (previous, given) {
        case (nil, _):
            startTime = given ?? savedAt
        case (let previous?, let given?) where schedule.startTime != previous.startTimeText:
            startTime = given
        case (let previous?, _) where previous.cron != cron || previous.timezone != timezone:
            startTime = savedAt
        case (let previous?, let given):
            startTime = given ?? previous.startTime
        }
    }

    /// The planner's policy, with the platform's minimum interval between ticks.
    public func policy(minimumInterval: TimeInterval, paused: Bool) throws(ValidationError) -> SchedulePlanner.Policy {
        guard let zone = TimeZone(identifier: timezone) else {
            throw ValidationError(field: "spec.schedule.timezone", "\"\(timezone)\" is not an IANA time zone")
        }
        return SchedulePlanner.Policy(
            cron: try Cron(cron), zone: zone, startTime: Date(timeIntervalSince1970: Double(startTime) / 1000), catchup: catchup,
            dependsOnPast: dependsOnPast,
            maxActiveRuns: maxActiveRuns, expiredLimit: expiredLimit, minimumInterval: minimumInterval, paused: paused)
    }
}
