import Foundation
import TrellisCore

/// One saved version of a pipeline.
public struct PipelineVersion: Codable, Sendable, Equatable {
    public let pipeline: String
    public let version: Int
    public let spec: PipelineSpec
    /// Task name → stable id, kept across versions while the name stays.
    public let taskIDs: [String: String]
    /// Task name → the template version it was pinned to at save (`shell@1.0.0`).
    public let templates: [String: String]
    public let createdBy: String
    public let createdAt: Date
}

/// A pipeline in a list.
public struct PipelineSummary: Codable, Sendable, Equatable {
    public let name: String
    public let description: String
    public let version: Int
    public let tasks: Int
    public let updatedAt: Date
}

public enum PipelineError: Error, Sendable, Equatable {
    case invalid([ValidationError])
    case notFound(String, project: String)
    case versionNotFound(String, version: Int)
    /// Someone else saved the pipeline between our read and our write.
    case concurrentChange(String)
}
