import Foundation
import Hummingbird
import SQLKit
import TrellisCore
import TrellisHTTP

/// A pipeline's recent runs × its tasks (`GET /projects/{project}/pipelines/{pipeline}/grid`), Airflow's grid view:
/// the tasks in the newest run's plan order (then those only older runs had), and per run one cell per task — its
/// state, attempts, and when its first attempt started and its last ended — or nil where the run had no such task.
struct RunGrid: ResponseEncodable {
    static let defaultRuns = 25
    static let maximumRuns = 100

    let pipeline: String
    let tasks: [String]
    /// Newest first, as the run list.
    let runs: [Column]
    /// The cursor of the next (older) page; absent on the last.
    let next: String?

    struct Column: Codable {
        let run: RunSummary
        let cells: [Cell?]
    }

    struct Cell: Codable, Equatable {
        let state: TaskState
        let attempts: Int
        let startedAt: Date?
        let finishedAt: Date?
    }

    init(pipeline: String, runs: [RunRepository.RunListRow], taskOrder: [String], cells: [String: [String: Cell]], next: String?) {
        self.pipeline = pipeline
        var names = taskOrder
        var known = Set(names)
        for run in runs {
            for name in (cells[run.id] ?? [:]).keys.sorted() where known.insert(name).inserted { names.append(name) }
        }
        tasks = names
        self.runs = runs.map { run in
            let own = cells[run.id] ?? [:]
            return Column(run: RunSummary(run), cells: names.map { own[$0] })
        }
        self.next = next
    }
}

extension RunRepository {
    /// The grid's cells of `runs`: each task's state and attempts, and the span of its attempts, in two queries.
    func gridCells(ofRuns runs: [String]) async throws -> [String: [String: RunGrid.Cell]] {
        guard !runs.isEmpty else { return [:] }
        return try await database.snapshot { sql in
            var spans: [String: [String: (Int64?, Int64?)]] = [:]
            for row in try await sql.select().column("run_id").column("task")
                .column(SQLFunction("MIN", args: SQLIdentifier("started_at")), as: "started_at")
                .column(SQLFunction("MAX", args: SQLIdentifier("finished_at")), as: "finished_at")
                .from("orchestrator_attempts").where("run_id", .in, runs).groupBy("run_id").groupBy("task").all()
            {
                spans[try row.decode(column: "run_id", as: String.self), default: [:]][try row.decode(column: "task", as: String.self)] = (
                    try row.decodeNil(column: "started_at") ? nil : try row.decode(column: "started_at", as: Int64.self),
                    try row.decodeNil(column: "finished_at") ? nil : try row.decode(column: "finished_at", as: Int64.self)
                )
            }
            var cells: [String: [String: RunGrid.Cell]] = [:]
            for row in try await sql.select().columns("run_id", "name", "state", "attempts").from("orchestrator_tasks")
                .where("run_id", .in, runs).all()
            {
                let run = try row.decode(column: "run_id", as: String.self)
                let name = try row.decode(column: "name", as: String.self)
                let span = spans[run]?[name]
                cells[run, default: [:]][name] = RunGrid.Cell(
                    state: try Self.parse(TaskState.self, try row.decode(column: "state", as: String.self)),
                    attempts: try row.decode(column: "attempts", as: Int.self), startedAt: span?.0.map(Date.fromMilliseconds),
                    finishedAt: span?.1.map(Date.fromMilliseconds))
            }
            return cells
        }
    }

    /// The task names of a run's plan, in its order (none for a run that is gone).
    func taskOrder(ofRun id: String) async throws -> [String] {
        if let plan = plans.cached(id) { return plan.plan.tasks.map(\.name) }
        let text = try await database.read { sql in
            try await sql.select().column("plan").from("orchestrator_runs").where("id", .equal, id).first()?
                .decode(column: "plan", as: String.self)
        }
        guard let text else { return [] }
        return try plans.plan(of: id) { try JSONDecoder().decode(RunPlan.self, from: Data(text.utf8)) }.plan.tasks.map(\.name)
    }
}
