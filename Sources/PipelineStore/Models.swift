import Foundation
import TrellisCore

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
