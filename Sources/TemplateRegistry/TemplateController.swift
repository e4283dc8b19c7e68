import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// The registry's HTTP API: register in a project, the marketplace, versions, publish, unpublish, deprecate.
///
/// Who may do what: a project's developers and owners register templates and versions in it; its owners (the
/// template's owners) publish, unpublish and deprecate them; platform admins may do everything but change
/// built-ins. Everyone sees published versions; a project's members also see its drafts and unpublished ones.
struct TemplateController<Repository: TemplateRepository>: Sendable {
    let repository: Repository
    let access: ProjectAccess
    let now: @Sendable () -> Date

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.post("projects/:project/templates", use: register)
        routes.get("projects/:project/templates", use: listProject)
        routes.get("templates", use: search)
        routes.get("templates/:name", use: get)
        routes.get("templates/:name/versions/:version", use: getVersion)
        routes.post("templates/:name/versions/:version/publish", use: publish)
        routes.post("templates/:name/versions/:version/unpublish", use: unpublish)
        routes.post("templates/:name/versions/:version/deprecate", use: deprecate)
    }

    // MARK: Register

    @Sendable func register(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<TemplateVersion> {
        let project = try context.parameters.require("project")
        try await access.require(.manageTemplates, in: project, context: context)
        let spec = try await request.decode(as: TemplateSpec.self, context: context)
        let problems = spec.problems()
        guard problems.isEmpty else { throw TemplateError.invalid(problems) }
        let version = try SemanticVersion(parsing: spec.version).description
        let user = try context.requireUser()
        let record: TemplateRecord
        if let existing = try await repository.template(named: spec.name) {
            guard !existing.builtin else { throw TemplateError.builtinIsReadOnly(spec.name) }
            guard existing.project == project else { throw TemplateError.nameTaken(spec.name, project: existing.project) }
            if let current = try await repository.versions(of: existing).first(where: { $0.version.version == version })?.version {
                if current.spec == spec { return EditedResponse(status: .ok, response: current) }
                guard current.status == .draft else { throw TemplateError.publishedIsImmutable(spec.name, version: version) }
            }
            record = existing
        } else {
            record = TemplateRecord(id: UUID().uuidString.lowercased(), name: spec.name, project: project, builtin: false)
        }
        let saved = TemplateVersion(
            template: spec.name, version: version, status: .draft, deprecated: nil, createdBy: user.username, createdAt: now(),
            publishedAt: nil, spec: spec
        )
        try await repository.save(saved, template: record)
        context.logger.info("template registered", metadata: ["template": .string("\(spec.name)@\(version)"), "project": .string(project)])
        return EditedResponse(status: .created, response: saved)
    }

    // MARK: Read

    struct TemplateList: ResponseEncodable {
        let templates: [TemplateSummary]
        /// The cursor of the next page; absent on the last.
        let next: String?

        init(_ page: Page<TemplateSummary>) {
            templates = page.items
            next = page.next
        }
    }

    @Sendable func listProject(_ request: Request, context: TrellisRequestContext) async throws -> TemplateList {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        return TemplateList(
            try await Self.page(try request.pageRequest(), repository: repository, project: project) { record, versions in
                Self.summary(record, versions: versions.map(\.version))
            })
    }

    /// `GET /templates?q=&category=&published=true&mine=true`: what the caller's palette offers.
    @Sendable func search(_ request: Request, context: TrellisRequestContext) async throws -> TemplateList {
        let query = request.uri.queryParameters
        let text = query["q"].map { String($0).lowercased() }
        let category = query["category"].map { String($0).lowercased() }
        let publishedOnly = query["published"].map { $0 == "true" } ?? false
        let mineOnly = query["mine"].map { $0 == "true" } ?? false
        var memberships = MembershipCache(access: access, caller: try context.caller())
        return TemplateList(
            try await Self.page(try request.pageRequest(), repository: repository, project: nil) { record, versions in
                let member = try await memberships.isMember(of: record)
                if mineOnly && !member { return nil }
                let visible = versions.map(\.version).filter { $0.status == .published || (member && !publishedOnly) }
                guard let summary = Self.summary(record, versions: visible) else { return nil }
                if let category, summary.category.lowercased() != category { return nil }
                if let text, ![summary.name, summary.description, summary.category].contains(where: { $0.lowercased().contains(text) }) {
                    return nil
                }
                return summary
            })
    }

    /// A page of templates by name that `summary` keeps, read in batches of the page's size.
    static func page(
        _ request: PageRequest, repository: Repository, project: String?,
        summary: (TemplateRecord, [VersionRecord]) async throws -> TemplateSummary?
    ) async throws -> Page<TemplateSummary> {
        try await Page.filtering(
            request, key: { [$0.name] }, rowKey: { [$0.0.name] },
            read: { after, count in try await repository.templates(inProject: project, after: after?.first, limit: count) },
            keep: { record, versions in try await summary(record, versions) })
    }

    @Sendable func get(_ request: Request, context: TrellisRequestContext) async throws -> TemplateSummary {
        let (record, versions) = try await visibleVersions(context)
        guard let summary = Self.summary(record, versions: versions) else { throw TemplateError.notFound(record.name) }
        return summary
    }

    @Sendable func getVersion(_ request: Request, context: TrellisRequestContext) async throws -> TemplateVersion {
        let (record, versions) = try await visibleVersions(context)
        let version = try context.parameters.require("version")
        guard let found = versions.first(where: { $0.version == version }) else {
            throw TemplateError.versionNotFound(record.name, version: version)
        }
        return found
    }

    // MARK: Lifecycle

    @Sendable func publish(_ request: Request, context: TrellisRequestContext) async throws -> TemplateVersion {
        let (record, version) = try await ownedVersion(context)
        guard version.status != .published else { return version }
        let needs = version.spec.clusterNeeds
        if !needs.isEmpty {
            _ = try context.requireAdmin(
                for:
                    "publishing \(record.name)@\(version.version), which needs \(needs.joined(separator: ", ")) (more than Pod Security's restricted level),"
            )
        }
        try await repository.setStatus(.published, template: record, version: version.version, at: now())
        context.logger.notice("template published", metadata: ["template": .string("\(record.name)@\(version.version)")])
        return try await reload(record, version.version)
    }

    @Sendable func unpublish(_ request: Request, context: TrellisRequestContext) async throws -> TemplateVersion {
        let (record, version) = try await ownedVersion(context)
        guard version.status == .published else { throw TemplateError.notPublished(record.name, version: version.version) }
        try await repository.setStatus(.unpublished, template: record, version: version.version, at: now())
        return try await reload(record, version.version)
    }

    struct DeprecateRequest: Decodable {
        let message: String?
    }

    @Sendable func deprecate(_ request: Request, context: TrellisRequestContext) async throws -> TemplateVersion {
        let (record, version) = try await ownedVersion(context)
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? false
        let message = hasBody ? try await request.decode(as: DeprecateRequest.self, context: context).message : nil
        try await repository.setDeprecated(message ?? "deprecated", template: record, version: version.version)
        return try await reload(record, version.version)
    }

    // MARK: Access

    /// The template named in the path with the versions the caller may see; 404 when they may see none.
    func visibleVersions(_ context: TrellisRequestContext) async throws -> (TemplateRecord, [TemplateVersion]) {
        try await visibleVersions(of: try context.parameters.require("name"), caller: try context.caller())
    }

    /// The versions of `name` that `caller` may read: published and unpublished ones, and drafts too when they
    /// are a member of the template's project. 404 when there are none.
    func visibleVersions(of name: String, caller: Caller) async throws -> (TemplateRecord, [TemplateVersion]) {
        guard let record = try await repository.template(named: name) else { throw TemplateError.notFound(name) }
        var memberships = MembershipCache(access: access, caller: caller)
        let member = try await memberships.isMember(of: record)
        // Unpublished versions stay readable (pipelines that use them keep working); palettes leave them out.
        let versions = try await repository.versions(of: record).map(\.version).filter { $0.status != .draft || member }
        guard !versions.isEmpty else { throw TemplateError.notFound(name) }
        return (record, versions)
    }

    /// The version named in the path, for its template's owners.
    func ownedVersion(_ context: TrellisRequestContext) async throws -> (TemplateRecord, TemplateVersion) {
        let (record, versions) = try await visibleVersions(context)
        guard !record.builtin else { throw TemplateError.builtinIsReadOnly(record.name) }
        guard let project = record.project else { throw TemplateError.keptByPlatform(record.name) }
        try await access.require(.publishTemplates, in: project, context: context)
        let version = try context.parameters.require("version")
        guard let found = versions.first(where: { $0.version == version }) else {
            throw TemplateError.versionNotFound(record.name, version: version)
        }
        return (record, found)
    }

    func reload(_ record: TemplateRecord, _ version: String) async throws -> TemplateVersion {
        guard let found = try await repository.versions(of: record).first(where: { $0.version.version == version })?.version else {
            throw TemplateError.versionNotFound(record.name, version: version)
        }
        return found
    }

    /// Memberships asked once per project within a request.
    struct MembershipCache {
        let access: ProjectAccess
        let caller: Caller
        var roles: [String: ProjectRole?] = [:]

        mutating func isMember(of record: TemplateRecord) async throws -> Bool {
            guard let project = record.project else { return false }
            if let known = roles[project] { return known != nil }
            let role = try await access.role(in: project, caller: caller)
            roles[project] = role
            return role != nil
        }
    }

    /// Newest visible version first; nil when none is visible.
    static func summary(_ record: TemplateRecord, versions: [TemplateVersion]) -> TemplateSummary? {
        guard let latest = versions.first else { return nil }
        return TemplateSummary(
            name: record.name, project: record.project, builtin: record.builtin, category: latest.spec.category ?? "",
            description: latest.spec.description ?? "", latestVersion: latest.version, framework: latest.spec.framework,
            resources: latest.spec.resources,
            versions: versions.map { .init(version: $0.version, status: $0.status, deprecated: $0.deprecated) }
        )
    }
}

extension TemplateVersion: ResponseEncodable {}
extension TemplateSummary: ResponseEncodable {}
