import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore
import Yams

/// The pipeline store's HTTP API: apply (create or new version), list, get, delete, versions, layout, export.
/// Members read; developers and owners change.
struct PipelineController<Repository: PipelineRepository>: Sendable {
    let repository: Repository
    let access: ProjectAccess
    /// Project settings, which previews apply as runs do.
    let identity: any IdentityClient
    let templates: any TemplateClient
    /// What the project's cluster allows, checked at save as at run.
    let clusters: ClusterDirectory
    let now: @Sendable () -> Date

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.post("projects/:project/pipelines", use: apply)
        routes.get("projects/:project/pipelines", use: list)
        routes.get("projects/:project/pipelines/:pipeline", use: get)
        routes.delete("projects/:project/pipelines/:pipeline", use: delete)
        routes.get("projects/:project/pipelines/:pipeline/versions", use: versions)
        routes.get("projects/:project/pipelines/:pipeline/versions/:version", use: version)
        routes.get("projects/:project/pipelines/:pipeline/layout", use: layout)
        routes.put("projects/:project/pipelines/:pipeline/layout", use: setLayout)
        routes.get("projects/:project/pipelines/:pipeline/export", use: export)
        routes.get("template-usage/:template", use: templateUsage)
        routes.post("projects/:project/pipelines/:pipeline/render", use: render)
        routes.get("projects/:project/pipelines/:pipeline/argo", use: argo)
    }

    // MARK: Apply

    /// Creates the pipeline (201), saves a new version when the document changed (200), or changes nothing.
    @Sendable func apply(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<PipelineVersion> {
        let project = try context.parameters.require("project")
        try await access.require(.editPipelines, in: project, context: context)
        var spec = try await request.decode(as: PipelineSpec.self, context: context)
        if let named = spec.metadata.project, named != project {
            throw ValidationError(field: "metadata.project", "is \"\(named)\" but the pipeline is applied to project \"\(project)\"")
        }
        spec.metadata.project = project
        let existing = try await repository.pipeline(named: spec.metadata.name, project: project)
        var current: PipelineVersion?
        if let existing { current = try await repository.version(existing.currentVersion, of: existing) }
        let pinned = try await resolveTemplates(spec, previous: current, caller: context.caller())
        var problems = spec.problems { pinned.specs[$0] }
        if let alerts = spec.spec.alerts, !(alerts.webhooks ?? []).isEmpty {
            let webhooks = try await identity.settings(ofProject: project)?.webhooks ?? [:]
            problems += alerts.problems(at: "spec.alerts", webhooks: Set(webhooks.keys)).filter {
                $0.field.hasPrefix("spec.alerts.webhooks[")
            }
        }
        guard problems.isEmpty else { throw PipelineError.invalid(problems) }
        if let current, current.spec == spec, current.templates == pinned.versions {
            return EditedResponse(status: .ok, response: current)
        }
        var taskIDs: [String: String] = [:]
        for task in spec.spec.tasks { taskIDs[task.name] = current?.taskIDs[task.name] ?? UUID().uuidString.lowercased() }
        let saved = PipelineVersion(
            pipeline: spec.metadata.name, version: (current?.version ?? 0) + 1, spec: spec, taskIDs: taskIDs, templates: pinned.versions,
            createdBy: try context.requireUser().username, createdAt: now()
        )
        try await requireAllowed(saved, project: project, context: context)
        try await repository.save(saved, project: project, existing: existing)
        context.logger.info(
            "pipeline saved", metadata: ["pipeline": .string(spec.metadata.name), "version": .stringConvertible(saved.version)])
        return EditedResponse(status: existing == nil ? .created : .ok, response: saved)
    }

    /// Refuses a version whose tasks ask more than the project's cluster allows — host folders outside the project's
    /// `hostPaths` on this machine, more than the cluster's policy on Kubernetes — as a run of it would be refused.
    /// A plan that cannot be made now (a variable only a run has) is left to the run.
    func requireAllowed(_ version: PipelineVersion, project: String, context: TrellisRequestContext) async throws {
        guard let gateway = clusters.gateway else { return }
        let settings = try await identity.settings(ofProject: project) ?? ProjectSettings()
        guard let access = try await gateway.cluster(named: settings.cluster),
            let plan = try? await previewPlan(of: version, project: project, runner: nil, at: now(), utcOffsetSeconds: 0, context: context)
        else { return }
        let problems = access.problems(of: plan, project: project, settings: settings)
        guard problems.isEmpty else { throw PipelineError.invalid(problems) }
    }

    /// Each task's template, pinned to a version: the one named, or the newest usable one. Unpublished versions
    /// cannot be newly chosen; a version the pipeline already used stays usable.
    func resolveTemplates(_ spec: PipelineSpec, previous: PipelineVersion?, caller: Caller) async throws -> (
        specs: [TemplateReference: TemplateSpec], versions: [String: String]
    ) {
        var specs: [TemplateReference: TemplateSpec] = [:]
        var versions: [String: String] = [:]
        let alreadyUsed = Set(previous?.templates.values.map { $0 } ?? [])
        for task in spec.spec.tasks {
            let reference = TemplateReference(parsing: task.template)
            let available = try await templates.versions(of: reference.name, caller: caller).filter {
                $0.status != "unpublished" || alreadyUsed.contains("\(reference.name)@\($0.version)")
            }
            let chosen = reference.version.map { wanted in available.first { $0.version == wanted } } ?? available.first
            guard let chosen, let template = try await templates.template(reference.name, version: chosen.version, caller: caller) else {
                continue
            }
            specs[reference] = template
            versions[task.name] = "\(reference.name)@\(chosen.version)"
        }
        return (specs, versions)
    }

    // MARK: Read

    struct PipelineList: ResponseEncodable {
        let pipelines: [PipelineSummary]
        /// The cursor of the next page; absent on the last.
        let next: String?
    }

    @Sendable func list(_ request: Request, context: TrellisRequestContext) async throws -> PipelineList {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        let page = try request.pageRequest()
        let found = try await repository.summaries(inProject: project, after: try page.key(0), limit: page.limit + 1)
        let listed = Page(fetched: found, request: page) { [$0.name] }
        return PipelineList(pipelines: listed.items, next: listed.next)
    }

    @Sendable func get(_ request: Request, context: TrellisRequestContext) async throws -> PipelineVersion {
        let (record, _) = try await pipeline(context, needs: .read)
        guard let current = try await repository.version(record.currentVersion, of: record) else {
            throw PipelineError.versionNotFound(record.name, version: record.currentVersion)
        }
        return current
    }

    @Sendable func delete(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let (record, _) = try await pipeline(context, needs: .editPipelines)
        try await repository.delete(record, by: try context.requireUser().username, at: now().milliseconds)
        return .noContent
    }

    struct VersionList: ResponseEncodable {
        struct Item: Codable {
            let version: Int
            let createdBy: String
            let createdAt: Date
        }
        let versions: [Item]
    }

    @Sendable func versions(_ request: Request, context: TrellisRequestContext) async throws -> VersionList {
        let (record, _) = try await pipeline(context, needs: .read)
        return VersionList(
            versions: try await repository.versions(of: record).map {
                .init(version: $0.version, createdBy: $0.createdBy, createdAt: $0.createdAt)
            })
    }

    @Sendable func version(_ request: Request, context: TrellisRequestContext) async throws -> PipelineVersion {
        let (record, _) = try await pipeline(context, needs: .read)
        let number = try context.parameters.require("version", as: Int.self)
        guard let found = try await repository.version(number, of: record) else {
            throw PipelineError.versionNotFound(record.name, version: number)
        }
        return found
    }

    struct TemplateUsage: ResponseEncodable {
        struct Version: Codable {
            let version: String
            let pipelines: Int
        }
        let template: String
        /// Pipelines whose current version uses the template, in every project (a count: no names cross projects).
        let pipelines: Int
        let versions: [Version]
    }

    /// How many pipelines use a template, per version: what a publisher checks before deprecating or unpublishing.
    @Sendable func templateUsage(_ request: Request, context: TrellisRequestContext) async throws -> TemplateUsage {
        _ = try context.requireUser()
        let template = try context.parameters.require("template")
        let usage = try await repository.templateUsage(template)
        // Newest version first.
        let versions = usage.map { TemplateUsage.Version(version: $0.key, pipelines: $0.value) }.sorted { first, second in
            switch (try? SemanticVersion(parsing: first.version), try? SemanticVersion(parsing: second.version)) {
            case (let newer?, let older?): newer > older
            default: first.version > second.version
            }
        }
        return TemplateUsage(template: template, pipelines: usage.values.reduce(0, +), versions: versions)
    }

    // MARK: Preview

    struct RenderRequest: Decodable {
        /// Who the run would be for (default: the caller).
        var runner: String?
        /// The execution date and `now()` (ISO 8601; default: this instant). Its offset is the run's time zone.
        var executionDate: String?
    }

    struct Rendered: ResponseEncodable {
        struct Task: Codable {
            let name: String
            let command: [String]
            let env: [String: String]
        }
        let pipeline: String
        let version: Int
        let env: [String: String]
        let tasks: [Task]
    }

    /// Every task's command and env with the template variables rendered as a run would, without running anything.
    @Sendable func render(_ request: Request, context: TrellisRequestContext) async throws -> Rendered {
        let (record, project) = try await pipeline(context, needs: .read)
        guard let current = try await repository.version(record.currentVersion, of: record) else {
            throw PipelineError.versionNotFound(record.name, version: record.currentVersion)
        }
        let body = try await request.decodeIfPresent(as: RenderRequest.self, context: context)
        var instant = now()
        var offset = 0
        if let text = body?.executionDate {
            guard let parsed = try? Date(text, strategy: .iso8601) else {
                throw ValidationError(field: "executionDate", "\"\(text)\" is not an ISO 8601 date and time such as 2026-11-29T02:00:00Z")
            }
            instant = parsed
            offset = ISO8601Offset.seconds(in: text)
        }
        let plan = try await previewPlan(
            of: current, project: project, runner: body?.runner, at: instant, utcOffsetSeconds: offset, context: context)
        return Rendered(
            pipeline: plan.pipeline, version: plan.version, env: plan.environment ?? [:],
            tasks: plan.tasks.map { Rendered.Task(name: $0.name, command: $0.command, env: $0.environment) })
    }

    // MARK: Layout and export

    /// The plan a run of `version` would get now (a run id of "preview"), with the project's settings, for previews.
    func previewPlan(
        of version: PipelineVersion, project: String, runner: String?, at instant: Date, utcOffsetSeconds: Int,
        context: TrellisRequestContext
    ) async throws -> RunPlan {
        let caller = try context.caller()
        let settings = try await identity.settings(ofProject: project) ?? ProjectSettings()
        let variables = RunVariables(
            project: project, runner: runner ?? caller.user.username, runID: "preview", clusterName: settings.cluster,
            createdAt: instant.milliseconds, executionDate: instant.milliseconds, utcOffsetSeconds: utcOffsetSeconds,
            randomBytes: RunVariables.systemRandomBytes)
        return try RunPlan(
            pipeline: version, templates: try await PinnedTemplates.resolve(version, client: templates, caller: caller),
            variables: variables, project: settings)
    }

    /// `GET …/pipelines/{pipeline}/argo`: the Argo Workflow a run of the current version would be on Kubernetes, in
    /// the project's namespace `trellis-{project}` (YAML; `?format=json` for JSON).
    /// `GET …/argo[?format=json|yaml]`: the Argo Workflow a run of the current version would submit — JSON with
    /// `format=json` or `Accept: application/json`, else YAML.
    @Sendable func argo(_ request: Request, context: TrellisRequestContext) async throws -> Response {
        let format = request.uri.queryParameters.get("format")
        guard format == nil || format == "json" || format == "yaml" else {
            throw APIError.invalidField("format", "must be json or yaml, got \"\(format?.prefix(40) ?? "")\"")
        }
        return try await argoResponse(request, context: context, json: format == "json" || (format == nil && Self.wantsJSON(request)))
    }

    /// Whether the request's `Accept` asks for JSON first.
    static func wantsJSON(_ request: Request) -> Bool {
        request.headers[.accept].map { $0.split(separator: ",").first?.contains("application/json") == true } ?? false
    }

    func argoResponse(_ request: Request, context: TrellisRequestContext, json: Bool) async throws -> Response {
        let (record, project) = try await pipeline(context, needs: .read)
        guard let current = try await repository.version(record.currentVersion, of: record) else {
            throw PipelineError.versionNotFound(record.name, version: record.currentVersion)
        }
        let instant = now()
        var plan = try await previewPlan(of: current, project: project, runner: nil, at: instant, utcOffsetSeconds: 0, context: context)
        // Pods fit the Pod Security level of the project's cluster, as a run's do.
        let settings = try await identity.settings(ofProject: project) ?? ProjectSettings()
        if let access = try await clusters.gateway?.cluster(named: settings.cluster), access.kind == .kubernetes {
            plan.podSecurity = access.policy.level
            plan.gpuLabel = access.policy.gpuLabel
        }
        let run = ArgoWorkflow.Run(
            id: "preview", project: project, runner: try context.requireUser().username, executionDate: instant.milliseconds,
            namespace: ArgoWorkflow.namespace(ofProject: project))
        let manifest = try ArgoWorkflow.manifest(plan, run: run)
        if json {
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: manifest.jsonText + "\n")))
        }
        return Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: YAMLText.document(manifest))))
    }

    struct Layout: ResponseCodable {
        let layout: JSONValue
    }

    @Sendable func layout(_ request: Request, context: TrellisRequestContext) async throws -> Layout {
        let (record, _) = try await pipeline(context, needs: .read)
        return Layout(layout: try await repository.layout(of: record) ?? .object([:]))
    }

    /// The editor's node positions, any JSON object; kept apart from the DAG, so moving a node makes no version.
    @Sendable func setLayout(_ request: Request, context: TrellisRequestContext) async throws -> Layout {
        let (record, _) = try await pipeline(context, needs: .editPipelines)
        let body = try await request.decode(as: Layout.self, context: context)
        guard case .object = body.layout else { throw ValidationError(field: "layout", "must be an object") }
        try await repository.setLayout(body.layout, of: record, at: now())
        return body
    }

    /// The pipeline file of the current version, as YAML.
    /// `GET …/export[?format=trellis|argo]`: the pipeline file (YAML), or with `format=argo` the Argo Workflow a run
    /// would submit (as `…/argo` serves it: JSON with `Accept: application/json`, else YAML).
    @Sendable func export(_ request: Request, context: TrellisRequestContext) async throws -> Response {
        switch request.uri.queryParameters.get("format") {
        case nil, "trellis": break
        case "argo": return try await argoResponse(request, context: context, json: Self.wantsJSON(request))
        case let other?: throw APIError.invalidField("format", "must be trellis or argo, got \"\(other.prefix(40))\"")
        }
        let current = try await get(request, context: context)
        let encoder = YAMLEncoder()
        encoder.options.allowUnicode = true
        let yaml = try encoder.encode(current.spec)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/yaml; charset=utf-8", .contentDisposition: "attachment; filename=\"\(current.pipeline).yaml\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: yaml))
        )
    }

    func pipeline(_ context: TrellisRequestContext, needs action: ProjectAction) async throws -> (PipelineRecord, String) {
        let project = try context.parameters.require("project")
        try await access.require(action, in: project, context: context)
        let name = try context.parameters.require("pipeline")
        guard let record = try await repository.pipeline(named: name, project: project) else {
            throw PipelineError.notFound(name, project: project)
        }
        return (record, project)
    }
}

extension PipelineVersion: ResponseEncodable {}
