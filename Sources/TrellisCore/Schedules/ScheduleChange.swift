/// A pipeline's schedule as of one save (nil: removed, or the pipeline deleted), with the save's revision in the
/// pipeline store's schedule feed.
public struct ScheduleChange: Codable, Sendable, Equatable {
    public let project: String
    public let pipeline: String
    public let schedule: PipelineSpec.Schedule?
    /// Who saved it: scheduled runs run on their behalf.
    public let savedBy: String
    /// Unix milliseconds.
    public let savedAt: Int64
    public let revision: Int64

    public init(project: String, pipeline: String, schedule: PipelineSpec.Schedule?, savedBy: String, savedAt: Int64, revision: Int64) {
        self.project = project
        self.pipeline = pipeline
        self.schedule = schedule
        self.savedBy = savedBy
        self.savedAt = savedAt
        self.revision = revision
    }
}
