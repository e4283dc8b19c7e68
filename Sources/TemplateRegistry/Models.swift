import Foundation
import TrellisCore

/// Where a template version stands.
public enum VersionStatus: String, Codable, Sendable {
    /// Registered in its project; that project's members see and use it.
    case draft
    /// In the marketplace: every user sees and uses it. Its content can no longer change.
    case published
    /// Taken out of palettes: it cannot be newly used, but pipelines that already use it keep working.
    case unpublished
}

/// One version of a template, as the API returns it.
public struct TemplateVersion: Codable, Sendable, Equatable {
    public let template: String
    public let version: String
    public let status: VersionStatus
    /// Why the version should no longer be chosen, when it was deprecated.
    public let deprecated: String?
    public let createdBy: String
    public let createdAt: Date
    public let publishedAt: Date?
    public let spec: TemplateSpec
    /// What it asks of a Kubernetes cluster beyond Pod Security's restricted level (a privileged container, host
    /// paths, NFS, a service account): the marketplace shows it, and only a platform admin may publish it.
    public let needs: [String]?

    public init(
        template: String, version: String, status: VersionStatus, deprecated: String?, createdBy: String, createdAt: Date,
        publishedAt: Date?, spec: TemplateSpec
    ) {
        self.template = template
        self.version = version
        self.status = status
        self.deprecated = deprecated
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.publishedAt = publishedAt
        self.spec = spec
        needs = spec.clusterNeeds
    }
}

/// A template with the versions the caller may see, newest first.
public struct TemplateSummary: Codable, Sendable, Equatable {
    public let name: String
    /// The project it was registered in; nil for built-ins.
    public let project: String?
    public let builtin: Bool
    public let category: String
    public let description: String
    public let latestVersion: String
    /// The latest version's training framework and default resources, for the palette.
    public let framework: TrainingFramework?
    public let resources: TemplateSpec.Resources?
    public let versions: [VersionSummary]

    public struct VersionSummary: Codable, Sendable, Equatable {
        public let version: String
        public let status: VersionStatus
        public let deprecated: String?
    }
}

/// What can go wrong in the registry, naming the template and version.
public enum TemplateError: Error, Sendable, Equatable {
    case invalid([ValidationError])
    case notFound(String)
    case versionNotFound(String, version: String)
    case nameTaken(String, project: String?)
    case publishedIsImmutable(String, version: String)
    case notPublished(String, version: String)
    case builtinIsReadOnly(String)
    /// Its project was deleted: the platform keeps its versions as they are.
    case keptByPlatform(String)
}
