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
        // The next decision comes right away and goes on after the newest tick recorded.
        #expect(decision.nextTick == Self.at(48))
        let next = SchedulePlanner.decide(policy: try Self.policy("* * * * *"), records: [], cursor: decision.cursor, now: Self.at(48))
        #expect(next.created.first?.date == Self.at(Double(SchedulePlanner.maximumNewTicks) / 60))
    }

    @Test func theCursorNotTheRecordsSaysWhichTicksAreNew() throws {
        // An explicit backfill recorded older ticks: they do not make the planner go back to them.
        let old = [SchedulePlanner.Record(executionDate: Self.at(-30), state: .launched, runState: .succeeded)]
        let decision = SchedulePlanner.decide(policy: try Self.policy(), records: old, cursor: Self.at(3), now: Self.at(4.5))
        #expect(decision.created.map(\.date) == [Self.at(4)])
        #expect(decision.cursor == Self.at(4))
        // Without anything new the cursor stays.
        #expect(SchedulePlanner.decide(policy: try Self.policy(), records: old, cursor: Self.at(4), now: Self.at(4.5)).cursor == Self.at(4))
    }

    @Test func aPausedScheduleRecordsNoTicksButPendingOnesStillLaunch() throws {
        var policy = try Self.policy()
        policy.paused = true
        let records = [SchedulePlanner.Record(executionDate: Self.at(1), state: .pending)]
        let decision = SchedulePlanner.decide(policy: policy, records: records, now: Self.at(5.5))
        #expect(decision.created.isEmpty)
        #expect(decision.launch == [Self.at(1)])
        #expect(decision.nextTick == nil)
    }

    @Test func aTickWhoseRunCouldNotBeCreatedBlocksDependsOnPast() throws {
        let policy = try Self.policy(dependsOnPast: true)
        var records = [
            SchedulePlanner.Record(executionDate: Self.at(0), state: .failed),
            SchedulePlanner.Record(executionDate: Self.at(1), state: .pending),
        ]
        #expect(SchedulePlanner.decide(policy: policy, records: records, now: Self.at(1.5)).launch.isEmpty)
        // A launching tick counts as active and, its run unfinished, blocks its successor too.
        records[0] = SchedulePlanner.Record(executionDate: Self.at(0), state: .launching)
        #expect(SchedulePlanner.decide(policy: policy, records: records, now: Self.at(1.5)).launch.isEmpty)
        #expect(SchedulePlanner.decide(policy: try Self.policy(maxActiveRuns: 1), records: records, now: Self.at(1.5)).launch.isEmpty)
    }

    @Test func anExplicitBackfillRecordsTheMissingTicksOfItsRange() throws {
        let existing = [SchedulePlanner.Record(executionDate: Self.at(1), state: .launched, runState: .succeeded)]
        let ticks = try #require(
            SchedulePlanner.backfill(policy: try Self.policy(catchup: false), from: Self.at(0), to: Self.at(3), records: existing))
        // catchup: false does not apply to ticks a user asked for.
        #expect(ticks.map(\.date) == [Self.at(0), Self.at(2), Self.at(3)])
        #expect(ticks.allSatisfy { $0.state == .pending })
        // The minimum interval does.
        let close = try #require(
            SchedulePlanner.backfill(
                policy: try Self.policy("*/5 * * * *", minimumInterval: 600), from: Self.at(0), to: Self.at(0.25), records: []))
        #expect(close.map(\.state) == [.pending, .skipped, .pending, .skipped])
        // A range of more than maximumNewTicks ticks is refused.
        #expect(SchedulePlanner.backfill(policy: try Self.policy("* * * * *"), from: Self.at(0), to: Self.at(24), records: []) == nil)
    }

    @Test func changingTheCronOrTimeZoneResetsTheStartUnlessANewStartIsGiven() throws {
        func schedule(_ cron: String, _ timezone: String? = nil, _ start: String? = nil) -> PipelineSpec.Schedule {
            PipelineSpec.Schedule(cron: cron, timezone: timezone, startTime: start)
        }
        let saved: Int64 = 1_800_000_000_000
        let later = saved + 86_400_000
        let first = try ScheduleDefinition(schedule("0 2 * * *", "Asia/Shanghai", "2026-11-01T00:00:00"), savedAt: saved, previous: nil)
        #expect(first.startTime == Int64(try Date("2026-10-31T16:00:00Z", strategy: .iso8601).timeIntervalSince1970 * 1000))
        #expect((first.catchup, first.dependsOnPast, first.maxActiveRuns, first.expiredLimit) == (true, false, 1, 0))
        // Same cron and zone: the start stays.
        #expect(
            try ScheduleDefinition(schedule("0 2 * * *", "Asia/Shanghai", "2026-11-01T00:00:00"), savedAt: later, previous: first)
                .startTime == first.startTime)
        // A new cron with the same startTime: reset to the save.
        #expect(
            try ScheduleDefinition(schedule("0 3 * * *", "Asia/Shanghai", "2026-11-01T00:00:00"), savedAt: later, previous: first)
                .startTime == later)
        // A new time zone: reset too.
        #expect(
            try ScheduleDefinition(schedule("0 2 * * *", "UTC", "2026-11-01T00:00:00"), savedAt: later, previous: first)
                .startTime == later)
        // A new cron with a new startTime: the given one.
        let moved = try ScheduleDefinition(schedule("0 3 * * *", "Asia/Shanghai", "2026-10-01T00:00:00"), savedAt: later, previous: first)
        #expect(moved.startTime == Int64(try Date("2026-09-30T16:00:00Z", strategy: .iso8601).timeIntervalSince1970 * 1000))
        // No startTime at all: from the first save.
        #expect(try ScheduleDefinition(schedule("@daily"), savedAt: saved, previous: nil).startTime == saved)
        #expect(try ScheduleDefinition(schedule("@daily"), savedAt: saved, previous: nil).timezone == "UTC")
    }

    @Test func durationsAreWrittenBackAsPeopleWriteThem() {
        #expect(DurationText.format(milliseconds: 600_000) == "10m")
        #expect(DurationText.format(milliseconds: 5_400_000) == "1h30m")
        #expect(DurationText.format(milliseconds: 90_061_000) == "1d1h1m1s")
        #expect(DurationText.format(milliseconds: 1_500) == "1500ms")
    }
}
