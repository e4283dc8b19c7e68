import ServiceContracts
import TrellisCore

/// What runs prepared together read alike — a project's settings, a cluster's access, a template version — asked once
/// for the lot: a scheduler's batch of a hundred runs of one project reads its settings once, not a hundred times. A
/// batch is prepared within moments, so it reads what each run would have read on its own a moment apart.
struct SharedReads: Sendable {
    let settings = Memo<String, ProjectSettings?>()
    let clusters = Memo<String, ClusterAccess?>()
    let templates = Memo<TemplateKey, TemplateSpec?>()

    struct TemplateKey: Hashable, Sendable {
        var name: String
        var version: String
        /// Who asks: what a template registry shows depends on the caller.
        var caller: String
    }

    /// `client`, its templates asked through this.
    func templates(_ client: any TemplateClient) -> any TemplateClient { SharedTemplates(client: client, reads: self) }
}

/// Each key's value read once, by the first caller; callers meanwhile wait for that read. A read that fails is not kept.
actor Memo<Key: Hashable & Sendable, Value: Sendable> {
    private var reads: [Key: Task<Value, any Error>] = [:]

    func value(_ key: Key, _ read: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let known = reads[key] {
            return try await withTaskCancellationHandler {
                try await known.value
            } onCancel: {
                known.cancel()
            }
        }
        let task = Task { try await read() }
        reads[key] = task
        do {
            // The read is cancelled with its first caller (a pass stopping at shutdown), not left to wait on a closed pool.
            return try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                task.cancel()
            }
        } catch {
            reads[key] = nil
            throw error
        }
    }
}

/// A template client whose template versions are read once per ``SharedReads``.
private struct SharedTemplates: TemplateClient {
    let client: any TemplateClient
    let reads: SharedReads

    func versions(of name: String, caller: Caller) async throws -> [TemplateVersionStatus] {
        try await client.versions(of: name, caller: caller)
    }

    func template(_ name: String, version: String, caller: Caller) async throws -> TemplateSpec? {
        try await reads.templates.value(.init(name: name, version: version, caller: caller.user.username)) {
            try await client.template(name, version: version, caller: caller)
        }
    }

    func registryCredentials(ofProject project: String) async throws -> [RegistryCredential] {
        try await client.registryCredentials(ofProject: project)
    }
}
