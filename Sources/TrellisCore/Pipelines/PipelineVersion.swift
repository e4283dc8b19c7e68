import Foundation

/// One saved version of a pipeline.
public struct PipelineVersion: Codable, Sendable, Equatable {
    /// The pipeline's id, the same for all its versions (nil in documents from before it was reported).
    public var pipelineID: String?
    public let pipeline: String
    public let version: Int
    public let spec: PipelineSpec
    /// Task name → stable id, kept across versions while the name stays.
    public let taskIDs: [String: String]
    /// Task name → the template version it was pinned to at save (`shell@1.0.0`).
    public let templates: [String: String]
    public let createdBy: String
    public let createdAt: Date

    public init(
        pipeline: String, version: Int, spec: PipelineSpec, taskIDs: [String: String], templates: [String: String], createdBy: String,
        createdAt: Date
    ) {
        self.pipeline = pipeline
        self.version = version
        self.spec = spec
        self.taskIDs = taskIDs
        self.templates = templates
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}
