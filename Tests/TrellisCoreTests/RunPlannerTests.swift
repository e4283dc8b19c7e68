import Testing
import TrellisCore

@Suite struct RunPlannerTests {
    static func task(_ name: String, _ dependsOn: [String] = [], skip: Bool = false) -> RunPlan.Task {
        RunPlan.Task(
            name: name, id: name, template: "shell@1.0.0", dependsOn: dependsOn, command: ["true"], environment: [:], image: "busybox",
            workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, retry: .none, skip: skip)
    }

    static func plan(_ tasks: [RunPlan.Task], parallelism: Int? = nil) -> RunPlan {
        RunPlan(pipeline: "p", version: 1, parallelism: parallelism, tasks: tasks)
    }

    static func progress(_ states: [String: TaskState]) -> [String: RunPlanner.TaskProgress] {
        states.mapValues { RunPlanner.TaskProgress(state: $0) }
    }

    @Test func aDiamondStartsInDependencyOrder() {
        let plan = Self.plan([
            Self.task("join", ["left", "right"]), Self.task("left", ["prep"]), Self.task("right", ["prep"]), Self.task("prep"),
        ])
        var states: [String: TaskState] = ["prep": .pending, "left": .pending, "right": .pending, "join": .pending]
        #expect(RunPlanner.decide(plan: plan, progress: Self.progress(states), now: 0).start == ["prep"])
        states["prep"] = .succeeded
        #expect(RunPlanner.decide(plan: plan, progress: Self.progress(states), now: 0).start == ["left", "right"])
        states["left"] = .succeeded
        states["right"] = .succeeded
        let last = RunPlanner.decide(plan: plan, progress: Self.progress(states), now: 0)
        #expect(last.start == ["join"])
        #expect(last.finished == nil)
        states["join"] = .succeeded
        #expect(RunPlanner.decide(plan: plan, progress: Self.progress(states), now: 0).finished == .succeeded)
    }

    @Test func aFailureMarksEverythingDownstreamUpstreamFailed() {
        let plan = Self.plan([Self.task("a"), Self.task("b", ["a"]), Self.task("c", ["b"]), Self.task("side")])
        let decision = RunPlanner.decide(
            plan: plan, progress: Self.progress(["a": .failed, "b": .pending, "c": .pending, "side": .succeeded]), now: 0)
        #expect(decision.settle == ["b": .upstreamFailed, "c": .upstreamFailed])
        #expect(decision.finished == .failed)
    }

    @Test func skippedTasksLetDownstreamRun() {
        let plan = Self.plan([Self.task("a"), Self.task("b", ["a"], skip: true), Self.task("c", ["b"])])
        let decision = RunPlanner.decide(plan: plan, progress: Self.progress(["a": .succeeded, "b": .pending, "c": .pending]), now: 0)
        #expect(decision.settle == ["b": .skipped])
        #expect(decision.start == ["c"])
    }

    @Test func parallelismCapsRunningTasks() {
        let plan = Self.plan([Self.task("a"), Self.task("b"), Self.task("c")], parallelism: 2)
        #expect(
            RunPlanner.decide(plan: plan, progress: Self.progress(["a": .pending, "b": .pending, "c": .pending]), now: 0).start == [
                "a", "b",
            ])
        #expect(
            RunPlanner.decide(plan: plan, progress: Self.progress(["a": .running, "b": .pending, "c": .pending]), now: 0).start == ["b"])
    }

    @Test func aRetryWaitsForItsBackoff() {
        let plan = Self.plan([Self.task("a")])
        let waiting = ["a": RunPlanner.TaskProgress(state: .pending, notBefore: 1_500)]
        let early = RunPlanner.decide(plan: plan, progress: waiting, now: 1_000)
        #expect(early.start.isEmpty)
        #expect(early.wakeAt == 1_500)
        #expect(RunPlanner.decide(plan: plan, progress: waiting, now: 1_500).start == ["a"])
    }

    @Test func stoppingCancelsWhatHasNotStartedAndEndsWhenNothingRuns() {
        let plan = Self.plan([Self.task("a"), Self.task("b", ["a"])])
        let running = RunPlanner.decide(plan: plan, progress: Self.progress(["a": .running, "b": .pending]), now: 0, stopping: .cancelled)
        #expect(running.settle == ["b": .cancelled])
        #expect(running.finished == nil)
        let stopped = RunPlanner.decide(
            plan: plan, progress: Self.progress(["a": .cancelled, "b": .cancelled]), now: 0, stopping: .cancelled)
        #expect(stopped.finished == .cancelled)
    }

    @Test func resumeRerunsWhatDidNotSucceedOrAChosenTaskAndItsDownstream() {
        let plan = Self.plan([Self.task("a"), Self.task("b", ["a"]), Self.task("c", ["b"]), Self.task("d", ["a"])])
        let states: [String: TaskState] = ["a": .succeeded, "b": .failed, "c": .upstreamFailed, "d": .succeeded]
        #expect(RunPlanner.tasksToRerun(index: PlanIndex(plan), states: states) == ["b", "c"])
        #expect(RunPlanner.tasksToRerun(index: PlanIndex(plan), states: states, from: "a") == ["a", "b", "c", "d"])
    }

    @Test func retryBackoffGrowsByTheFactorUpToTheCap() {
        let rule = RetryRule(limit: 4, policy: .onFailure, backoffMilliseconds: 1_000, factor: 2, maxBackoffMilliseconds: 3_000)
        #expect(rule.delay(after: .failed(exitCode: 1), attempt: 1) == .seconds(1))
        #expect(rule.delay(after: .failed(exitCode: 1), attempt: 2) == .seconds(2))
        #expect(rule.delay(after: .failed(exitCode: 1), attempt: 3) == .seconds(3))
        #expect(rule.delay(after: .failed(exitCode: 1), attempt: 5) == nil)
        #expect(rule.delay(after: .cancelled, attempt: 1) == nil)
    }

    @Test func retryPoliciesChooseWhichFailuresAreRetried() {
        func rule(_ policy: PipelineSpec.RetryPolicy) -> RetryRule {
            RetryRule(limit: 1, policy: policy, backoffMilliseconds: 0, factor: 2, maxBackoffMilliseconds: nil)
        }
        #expect(rule(.onFailure).delay(after: .failed(exitCode: 1), attempt: 1) != nil)
        #expect(rule(.onFailure).delay(after: .timedOut, attempt: 1) != nil)
        #expect(rule(.onFailure).delay(after: .error("lost"), attempt: 1) == nil)
        #expect(rule(.onError).delay(after: .failed(exitCode: 1), attempt: 1) == nil)
        #expect(rule(.onError).delay(after: .error("lost"), attempt: 1) != nil)
        #expect(rule(.always).delay(after: .error("lost"), attempt: 1) != nil)
        #expect(rule(.always).delay(after: .failed(exitCode: 2), attempt: 1) != nil)
    }
}
