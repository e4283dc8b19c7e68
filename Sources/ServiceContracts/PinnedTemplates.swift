import TrellisCore

/// The templates a pipeline version was pinned to, by task, each version fetched once (the orchestrator runs them,
/// the pipeline store previews them).
public enum PinnedTemplates {
    public static func resolve(_ version: PipelineVersion, client: any TemplateClient, caller: Caller) async throws -> [String:
        TemplateSpec]
    {
        var fetched: [String: TemplateSpec] = [:]
        var specs: [String: TemplateSpec] = [:]
        for task in version.spec.spec.tasks {
            let pinned = version.templates[task.name] ?? task.template
            if fetched[pinned] == nil {
                let reference = TemplateReference(parsing: pinned)
                fetched[pinned] = try await client.template(reference.name, version: reference.version ?? "", caller: caller)
            }
            specs[task.name] = fetched[pinned]
        }
        return specs
    }
}
