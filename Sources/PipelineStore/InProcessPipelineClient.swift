import ServiceContracts
import TrellisCore
import TrellisHTTP

/// The pipeline store answering the orchestrator of the same process (embedded mode), with the API's access rule.
struct InProcessPipelineClient<Repository: PipelineRepository>: PipelineClient {
    let repository: Repository
    let access: ProjectAccess

    func pipeline(_ name: String, project: String, version: Int?, caller: Caller) async throws -> PipelineVersion? {
        guard try await access.role(in: project, caller: caller) != nil,
            let record = try await repository.pipeline(named: name, project: project)
        else { return nil }
        return try await repository.version(version ?? record.currentVersion, of: record)
    }

    func alerts(ofPipeline name: String, project: String) async throws -> PipelineAlerts? {
        guard let record = try await repository.pipeline(named: name, project: project),
            let current = try await repository.version(record.currentVersion, of: record)
        else { return nil }
        return PipelineAlerts(alerts: current.spec.spec.alerts)
    }

    func scheduleChanges(after revision: Int64, limit: Int) async throws -> [ScheduleChange] {
        try await repository.scheduleChanges(after: revision, limit: limit)
    }
}
