import Foundation
import Testing
import TrellisCore

/// One scenario per schedule policy, on an injected clock (hourly ticks from 2026-11-01 00:00 UTC).
@Suite struct SchedulePlannerTests {
    static let start = try! Date("2026-11-01T00:00:00Z", strategy: .iso8601)
    static func at(_ hours: Double) -> Date { start.addingTimeInterval(hours * 3600) }

    static func policy(
        _ cron: String = "0 * * * *", catchup: Bool = true, dependsOnPast: Bool = false, maxActiveRuns: Int = 10, expiredLimit: Int = 0,
        minimumInterval: TimeInterval = 0
    ) throws -> SchedulePlanner.Policy {
        SchedulePlanner.Policy(
            cron: try Cron(cron), zone: .gmt, startTime: start, catchup: catchup, dependsOnPast: dependsOnPast,
            maxActiveRuns: maxActiveRuns,
            expiredLimit: expiredLimit, minimumInterval: minimumInterval)
    }

    @Test func backfillRecordsAndLaunchesEveryTickOldestFirst() throws {
        let decision = SchedulePlanner.decide(policy: try Self.policy(), records: [], now: Self.at(3.5))
        #expect(decision.created.map(\.date) == [Self.at(0), Self.at(1), Self.at(2), Self.at(3)])
        #expect(decision.created.allSatisfy { $0.state == .pending })
        #expect(decision.launch == [Self.at(0), Self.at(1), Self.at(2), Self.at(3)])
        #expect(decision.nextTick == Self.at(4))
        // Nothing new until the next tick; then only it.
        let recorded = decision.launch.map { SchedulePlanner.Record(executionDate: $0, state: .launched, runState: .running) }
        #expect(SchedulePlanner.decide(policy: try Self.policy(), records: recorded, now: Self.at(3.9)).created.isEmpty)
        #expect(SchedulePlanner.decide(policy: try Self.policy(), records: recorded, now: Self.at(4)).launch == [Self.at(4)])
    }

    @Test func ignoreRunsOnlyTheNewestMissedTick() throws {
        let decision = SchedulePlanner.decide(policy: try Self.policy(catchup: false), records: [], now: Self.at(3.5))
        #expect(decision.created.map(\.state) == [.skipped, .skipped, .skipped, .pending])
        #expect(decision.created.first?.reason == "catchup is off and a newer tick is due")
        #expect(decision.launch == [Self.at(3)])
    }

    @Test func dependsOnPastWaitsForThePreviousRunToSucceed() throws {
        let policy = try Self.policy(dependsOnPast: true)
        let first = SchedulePlanner.decide(policy: policy, records: [], now: Self.at(2.5))
        #expect(first.launch == [Self.at(0)])
        var records = [
            SchedulePlanner.Record(executionDate: Self.at(0), state: .launched, runState: .failed),
            SchedulePlanner.Record(executionDate: Self.at(1), state: .pending),
            SchedulePlanner.Record(executionDate: Self.at(2), state: .pending),
        ]
        // A failed predecessor blocks…
        #expect(SchedulePlanner.decide(policy: policy, records: records, now: Self.at(2.5)).launch.isEmpty)
        // …until it is resumed to success; then the next tick, and only it.
        records[0].runState = .succeeded
        #expect(SchedulePlanner.decide(policy: policy, records: records, now: Self.at(2.5)).launch == [Self.at(1)])
        // A user skipping the failed record lets the next one go too.
        records[0] = SchedulePlanner.Record(executionDate: Self.at(0), state: .skipped)
        #expect(SchedulePlanner.decide(policy: policy, records: records, now: Self.at(2.5)).launch == [Self.at(1)])
    }

    @Test func maxActiveRunsCapsUnfinishedScheduledRuns() throws {
        let policy = try Self.policy(maxActiveRuns: 2)
        let first = SchedulePlanner.decide(policy: policy, records: [], now: Self.at(3.5))
        #expect(first.launch == [Self.at(0), Self.at(1)])
        let records = [
            SchedulePlanner.Record(executionDate: Self.at(0), state: .launched, runState: .succeeded),
            SchedulePlanner.Record(executionDate: Self.at(1), state: .launched, runState: .running),
            SchedulePlanner.Record(executionDate: Self.at(2), state: .pending),
            SchedulePlanner.Record(executionDate: Self.at(3), state: .pending),
        ]
        #expect(SchedulePlanner.decide(policy: policy, records: records, now: Self.at(3.5)).launch == [Self.at(2)])
    }

    @Test func expiredLimitKeepsOnlyTheNewestPendingTicks() throws {
        let policy = try Self.policy(maxActiveRuns: 1, expiredLimit: 2)
        let records = [SchedulePlanner.Record(executionDate: Self.at(0), state: .launched, runState: .running)]
        let decision = SchedulePlanner.decide(policy: policy, records: records, now: Self.at(5.5))
        #expect(decision.created.map(\.date) == [Self.at(1), Self.at(2), Self.at(3), Self.at(4), Self.at(5)])
        #expect(decision.expire == [Self.at(1), Self.at(2), Self.at(3)])
        #expect(decision.launch.isEmpty)
    }

    @Test func ticksCloserThanTheMinimumIntervalAreSkipped() throws {
        let policy = try Self.policy("*/5 * * * *", minimumInterval: 600)
        let decision = SchedulePlanner.decide(policy: policy, records: [], now: Self.at(0.3))
        #expect(decision.created.map(\.state) == [.pending, .skipped, .pending, .skipped])
        #expect(decision.created[1].reason == "closer than the minimum interval of 10m to the previous tick")
        #expect(decision.launch == [Self.at(0), Self.at(1.0 / 6)])
    }

    @Test func aLongPauseCatchesUpInBoundedSteps() throws {
        let decision = SchedulePlanner.decide(policy: try Self.policy("* * * * *"), records: [], now: Self.at(48))
        #expect(decision.created.count == SchedulePlanner.maximumNewTicks)
    }

    @Test func durationsAreWrittenBackAsPeopleWriteThem() {
        #expect(DurationText.format(milliseconds: 600_000) == "10m")
        #expect(DurationText.format(milliseconds: 5_400_000) == "1h30m")
        #expect(DurationText.format(milliseconds: 90_061_000) == "1d1h1m1s")
        #expect(DurationText.format(milliseconds: 1_500) == "1500ms")
    }
}
