/// Who and when a run is, for its template variables: the seed's names, Airflow's, and the pipeline's env keys.
public struct RunVariables: Sendable {
    public var project: String
    public var runner: String
    public var runID: String
    public var clusterName: String
    /// When the run was created (`now()`), Unix milliseconds.
    public var createdAt: Int64
    /// The same instant to the microsecond, when known: `now()` and `%f` show it whole.
    public var createdAtMicroseconds: Int64?
    /// The schedule tick for scheduled runs, the creation time for manual ones, Unix milliseconds.
    public var executionDate: Int64
    /// The offset of the run's time zone from UTC (the schedule's; 0 for manual runs), in seconds.
    public var utcOffsetSeconds: Int
    /// The neighbouring schedule ticks, for scheduled runs (`prev_ds`, `next_ds`).
    public var previousExecutionDate: Int64?
    public var nextExecutionDate: Int64?
    /// The run's parameter values; nil when the pipeline declares none (`params` is then no name).
    public var parameters: [String: String]?
    public var randomBytes: @Sendable () -> [UInt8]

    public init(
        project: String, runner: String, runID: String, clusterName: String = "local", createdAt: Int64, executionDate: Int64,
        utcOffsetSeconds: Int = 0, previousExecutionDate: Int64? = nil, nextExecutionDate: Int64? = nil,
        randomBytes: @escaping @Sendable () -> [UInt8]
    ) {
        self.project = project
        self.runner = runner
        self.runID = runID
        self.clusterName = clusterName
        self.createdAt = createdAt
        self.executionDate = executionDate
        self.utcOffsetSeconds = utcOffsetSeconds
        self.previousExecutionDate = previousExecutionDate
        self.nextExecutionDate = nextExecutionDate
        self.randomBytes = randomBytes
    }

    func local(_ milliseconds: Int64) -> PyDateTime {
        PyDateTime(microseconds: (milliseconds + Int64(utcOffsetSeconds) * 1000) * 1000)
    }

    var createdMicroseconds: Int64 { createdAtMicroseconds ?? createdAt * 1000 }

    /// The context of a run of `pipeline` whose (already rendered) global env is `environment`.
    public func context(pipeline: String, pipelineID: String?, creator: String, environment: [String: String]) -> VariableContext {
        let execution = local(executionDate)
        var variables: [String: Value] = environment.mapValues(Value.string)
        let run: [String: Value] = [
            "creator": .string(creator), "runner": .string(runner), "pipeline_id": .string(pipelineID ?? pipeline),
            "pipeline_name": .string(pipeline), "project": .string(project), "cluster_name": .string(clusterName),
            "run_id": .string(runID), "execution_date": .string(execution.format("%Y-%m-%d %H:%M:%S")),
            "ds": .string(execution.format("%Y-%m-%d")), "ds_nodash": .string(execution.format("%Y%m%d")),
            "ts": .string(execution.text(separator: "T") + ISO8601Offset.text(seconds: utcOffsetSeconds)),
            "ts_nodash": .string(execution.format("%Y%m%dT%H%M%S")),
            "prev_ds": previousExecutionDate.map { .string(local($0).format("%Y-%m-%d")) } ?? .none,
            "next_ds": nextExecutionDate.map { .string(local($0).format("%Y-%m-%d")) } ?? .none,
        ]
        variables.merge(run) { $1 }
        if parameters != nil { variables["params"] = .namespace("params") }
        var context = VariableContext(
            variables: variables, now: PyDateTime(microseconds: createdMicroseconds + Int64(utcOffsetSeconds) * 1_000_000),
            utcNow: PyDateTime(microseconds: createdMicroseconds), randomBytes: randomBytes)
        context.parameters = parameters ?? [:]
        return context
    }
}
