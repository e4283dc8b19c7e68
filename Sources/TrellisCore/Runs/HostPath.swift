/// Host folders a project's local tasks may mount: a platform admin allows prefixes per project
/// (`settings.hostPaths`); every `hostpath` mount of a local run must be one of them or below one.
public enum HostPath {
    /// Absolute, without `.`, `..` or empty parts, without a trailing `/` (except `/` itself): what a prefix test can
    /// trust, since no part of it can lead back out.
    public static func isClean(_ path: String) -> Bool {
        guard path.hasPrefix("/"), path.utf8.count <= 4096, !path.contains("\0") else { return false }
        if path == "/" { return true }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// `path` is `prefix` or below it (whole parts: `/data2` is not below `/data`).
    public static func isWithin(_ path: String, _ prefix: String) -> Bool {
        prefix == "/" || path == prefix || path.hasPrefix(prefix + "/")
    }

    /// Every `hostpath` mount of the plan that the project does not allow, naming the task, its template and the mount.
    public static func problems(of plan: RunPlan, project: String, allowed: [String]) -> [ValidationError] {
        var problems: [ValidationError] = []
        for task in plan.tasks {
            for (index, text) in task.mounts.enumerated() {
                let field = "spec.tasks[\(task.name)].mounts[\(index)]"
                guard let mount = try? Mount(parsing: text, field: field), mount.kind == .hostpath else { continue }
                if !isClean(mount.source) {
                    problems.append(
                        ValidationError(
                            field: field,
                            "\(text) (task \(task.name), template \(task.template)): the host path must be absolute, without . or .. parts")
                    )
                } else if !allowed.contains(where: { isWithin(mount.source, $0) }) {
                    let list = allowed.isEmpty ? "none" : allowed.joined(separator: ", ")
                    problems.append(
                        ValidationError(
                            field: field,
                            "\(text) (task \(task.name), template \(task.template)): project \(project) may not mount \(mount.source) from "
                                + "this machine (allowed: \(list)); a platform admin can allow it in settings.hostPaths"))
                }
            }
        }
        return problems
    }
}
