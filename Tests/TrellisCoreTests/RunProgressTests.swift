import Testing
import TrellisCore

/// ``RunProgress`` keeps its counts and queues as tasks change; here it must decide exactly what deciding from scratch
/// (``RunPlanner/decide(plan:progress:now:stopping:)``) decides, at every step of random runs of random DAGs.
@Suite struct RunProgressTests {
    static func plan(size: Int, random: inout SplitMix64) -> RunPlan {
        let tasks = (0..<size).map { position in
            let upstreams =
                position == 0 ? [] : (0..<Int.random(in: 0...3, using: &random)).map { _ in Int.random(in: 0..<position, using: &random) }
            return RunPlannerTests.task(
                "t\(position)", Set(upstreams).sorted().map { "t\($0)" }, skip: Int.random(in: 0..<10, using: &random) == 0)
        }
        // The plan's order is not the dependency order.
        return RunPlannerTests.plan(tasks.shuffled(using: &random), parallelism: [nil, 1, 2, 5].randomElement(using: &random)!)
    }

    @Test(arguments: 0..<60) func decidesAsFromScratchAtEveryStep(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let plan = Self.plan(size: Int.random(in: 1...40, using: &random), random: &random)
        var progress = RunProgress(plan: plan, index: PlanIndex(plan), states: [:])
        var states = Dictionary(uniqueKeysWithValues: plan.tasks.map { ($0.name, RunPlanner.TaskProgress(state: .pending)) })
        var now: Int64 = 0
        var stopping: RunState?
        for step in 0..<400 {
            let expected = RunPlanner.decide(plan: plan, progress: states, now: now, stopping: stopping)
            let decision = progress.decide(now: now, stopping: stopping)
            #expect(decision.start == expected.start, "seed \(seed), step \(step)")
            #expect(decision.settle == expected.settle, "seed \(seed), step \(step)")
            #expect(decision.finished == expected.finished, "seed \(seed), step \(step)")
            for (name, state) in expected.settle { states[name] = .init(state: state) }
            for name in expected.start { states[name] = .init(state: .running) }
            if expected.finished != nil {
                // Resumed now and then: every task that did not succeed, or one task and its downstream.
                guard step < 300, Bool.random(using: &random) else { break }
                stopping = nil
                let from = Bool.random(using: &random) ? plan.tasks.randomElement(using: &random)?.name : nil
                for name in RunPlanner.tasksToRerun(index: progress.index, states: states.mapValues(\.state), from: from) {
                    states[name] = .init(state: .pending)
                    progress.set(progress.index.positions[name]!, .pending)
                }
                continue
            }
            // Some running tasks end: succeeded, failed, or pending again for a retry a little later.
            for name in states.keys.sorted() where states[name]?.state == .running && Int.random(in: 0..<3, using: &random) == 0 {
                let ending: RunPlanner.TaskProgress =
                    switch Int.random(in: 0..<6, using: &random) {
                    case 0: .init(state: .failed)
                    case 1: .init(state: .pending, notBefore: now + Int64.random(in: 0...3, using: &random))
                    case 2: .init(state: .timedOut)
                    default: .init(state: .succeeded)
                    }
                states[name] = ending
                progress.set(progress.index.positions[name]!, ending.state, notBefore: ending.notBefore)
            }
            if stopping == nil, Int.random(in: 0..<80, using: &random) == 0 { stopping = .cancelled }
            now += Int64.random(in: 0...2, using: &random)
        }
    }

    @Test func aThousandWideFanOutStartsEveryTaskOnceAndInOrder() {
        let middle = (0..<1_000).map { RunPlannerTests.task("m\($0)", ["root"]) }
        let plan = RunPlannerTests.plan([RunPlannerTests.task("join", middle.map(\.name))] + middle + [RunPlannerTests.task("root")])
        var progress = RunProgress(plan: plan, index: PlanIndex(plan), states: [:])
        #expect(progress.decide(now: 0).start == ["root"])
        progress.set(progress.index.positions["root"]!, .succeeded)
        let wide = progress.decide(now: 0)
        #expect(wide.start == middle.map(\.name))
        for (count, name) in wide.start.enumerated() {
            progress.set(progress.index.positions[name]!, .succeeded)
            let next = progress.decide(now: 0)
            #expect(next.start == (count == 999 ? ["join"] : []))
        }
        progress.set(progress.index.positions["join"]!, .succeeded)
        #expect(progress.decide(now: 0).finished == .succeeded)
    }

    @Test func theIndexRanksByDepthThenPlanOrder() {
        let plan = RunPlannerTests.plan([
            RunPlannerTests.task("c", ["a", "b"]), RunPlannerTests.task("b", ["a"]), RunPlannerTests.task("a"), RunPlannerTests.task("d"),
            RunPlannerTests.task("e", ["missing"]),
        ])
        let index = PlanIndex(plan)
        #expect(index.order.map { index.names[$0] } == ["a", "d", "e", "b", "c"])
        #expect(index.unknownUpstreams[index.positions["e"]!] == 1)
        #expect(index.downstream(of: index.positions["a"]!).map { index.names[$0] }.sorted() == ["a", "b", "c"])
        // A task naming an upstream the plan lacks never starts.
        #expect(RunPlanner.decide(plan: plan, progress: [:], now: 0).start == ["a", "d"])
    }
}
