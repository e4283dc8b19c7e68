import Foundation
import Testing
import TrellisCore
import TrellisStore
import TrellisTestSupport

@testable import RunOrchestrator

/// The repository keeps each run in memory between steps; a run another orchestrator wrote since is read again. Runs
/// are stored and changed several in one transaction.
@Suite struct RunRepositoryTests {
    static func run(id: String) -> RunRecord {
        let tasks = ["a", "b"].map {
            RunPlan.Task(
                name: $0, id: $0, template: "noop@1.0.0", dependsOn: $0 == "b" ? ["a"] : [], command: ["true"], environment: [:],
                image: "busybox", workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, retry: .none, skip: false)
        }
        return RunRecord(
            id: id, project: "p", pipeline: "chain", pipelineVersion: 1, trigger: .manual, state: .pending,
            plan: RunPlan(pipeline: "chain", version: 1, tasks: tasks), debug: false, executionDate: 0, startedBy: "olga", createdAt: 0,
            tasks: Dictionary(
                uniqueKeysWithValues: ["a", "b"].map { ($0, TaskRecord(name: $0, state: .pending, attempts: 0, roundStart: 1)) }),
            attempts: [])
    }

    @Test(arguments: DatabaseKind.allCases)
    func aRunWrittenByAnotherOrchestratorIsReadAgain(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await TrellisStore.Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await Migrator(database: database).apply(try RunOrchestratorModule.migrations()!)
                let id = UUID().uuidString.lowercased()
                let first = RunRepository(database: database)
                let second = RunRepository(database: database)
                _ = try await first.insert([Self.run(id: id)])
                // The first starts `a` (and keeps the run); the second, another process, ends it and fails the run.
                _ = try await first.update(id) { run in
                    run.update(task: "a") { $0.state = .running }
                    run.append(
                        AttemptRecord(task: "a", number: 1, executionID: "\(id)-a-1", state: .running, createdAt: 1, invocation: "{}"))
                }
                _ = try await second.update(id) { run in
                    run.update(task: "a") { $0.state = .failed }
                    run.update(attemptAt: 0) {
                        $0.state = .failed
                        $0.exitCode = 2
                    }
                    run.reason = "ended by the second"
                }
                let seen = try await first.update(id) { run in
                    let decision = run.decide(now: 2)
                    run.apply(decision)
                    return (run.tasks["a"]?.state, run.attempts.first?.exitCode, run.reason, decision.settle)
                }
                #expect(seen?.0 == .failed)
                #expect(seen?.1 == 2)
                #expect(seen?.2 == "ended by the second")
                // The planner's view was rebuilt from what the second wrote: `b` can never run.
                #expect(seen?.3 == ["b": .upstreamFailed])
                // And what the first wrote from its kept copy is what a fresh read finds.
                let stored = try #require(try await RunRepository(database: database).run(id))
                #expect(stored.tasks["b"]?.state == .upstreamFailed)
                #expect(stored.attempts.map(\.exitCode) == [2])
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func severalRunsAreStoredAndChangedTogether(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await TrellisStore.Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await Migrator(database: database).apply(try RunOrchestratorModule.migrations()!)
                let ids = (0..<3).map { _ in UUID().uuidString.lowercased() }
                let first = RunRepository(database: database)
                let second = RunRepository(database: database)
                #expect(try await first.insert(ids.prefix(2).map { Self.run(id: $0) }) == Set(ids.prefix(2)))
                // A run whose id exists is left as it was: only the new one is stored.
                var again = Self.run(id: ids[1])
                again.reason = "stored twice"
                #expect(try await first.insert([again, Self.run(id: ids[2])]) == [ids[2]])
                _ = try await second.update(ids[0]) { $0.reason = "changed by the second" }
                let missing = UUID().uuidString.lowercased()
                let seen = try await first.update(ids + [missing]) { run in
                    run.update(task: "a") { $0.state = .running }
                    run.append(
                        AttemptRecord(task: "a", number: 1, executionID: "\(run.id)-a-1", state: .running, createdAt: 1, invocation: "{}"))
                    return run.reason
                }
                #expect(Set(seen.keys) == Set(ids))
                #expect(seen[ids[0]] == .some("changed by the second"))
                #expect(seen[ids[1]] == .some(nil))
                let fresh = RunRepository(database: database)
                for id in ids {
                    let stored = try #require(try await fresh.run(id))
                    #expect(stored.tasks["a"]?.state == .running)
                    #expect(stored.attempts.map(\.executionID) == ["\(id)-a-1"])
                }
                #expect(try await fresh.run(ids[0])?.reason == "changed by the second")
            }
        }
    }
}
