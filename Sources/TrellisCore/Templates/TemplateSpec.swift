/// A task template as written in a template file (`trellis apply -f template.yaml`) or sent to the API.
public struct TemplateSpec: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var category: String?
    public var description: String?
    /// Markdown shown in the marketplace.
    public var readme: String?
    public var image: String
    /// The command run in the image; arguments from parameters are appended as flags.
    public var command: [String]?
    public var workingDir: String?
    public var parameters: [ParameterGroup]?
    /// Fixed environment; the pipeline's and the task's env override it.
    public var env: [String: String]?
    /// Fixed mounts, `source(kind):/path`.
    public var mounts: [String]?
    public var serviceAccount: String?
    public var resources: Resources?
    /// `ip host1 host2` lines, as in /etc/hosts.
    public var hostAliases: [String]?
    public var privileged: Bool?
    /// The distributed-training framework the template is for (`pytorch`, `tensorflow`, `mpi`, `xgboost`): on
    /// Kubernetes a task of it is the framework operator's job, whose replicas have the framework's roles.
    public var framework: TrainingFramework?
    /// The template the editor suggests as the next node.
    public var recommendedNext: String?

    public init(name: String, version: String, image: String) {
        self.name = name
        self.version = version
        self.image = image
    }

    /// Default resources of a task: `cpu` and `memory` as `request~limit` or one value for both; GPUs per replica,
    /// and their type: the value of the cluster's GPU label (`nvidia.com/gpu.product` unless its admin chose another)
    /// on the nodes its pods may go to.
    public struct Resources: Codable, Sendable, Equatable {
        public var cpu: String?
        public var memory: String?
        public var gpu: Int?
        public var gpuType: String?

        public init(cpu: String? = nil, memory: String? = nil, gpu: Int? = nil, gpuType: String? = nil) {
            self.cpu = cpu
            self.memory = memory
            self.gpu = gpu
            self.gpuType = gpuType
        }

        /// Problems of the GPU type, named under `field`: a label value, asked with GPUs.
        public func problems(field: String) -> [ValidationError] {
            guard let gpuType else { return [] }
            var problems: [ValidationError] = []
            if !Names.isLabelValue(gpuType) || gpuType.isEmpty {
                problems.append(
                    ValidationError(
                        field: "\(field).gpuType", "\"\(gpuType)\" is not a label value (at most 63 letters, digits, -, _ and .)"))
            }
            if (gpu ?? 0) < 1 { problems.append(ValidationError(field: "\(field).gpuType", "needs \(field).gpu of at least 1")) }
            return problems
        }
    }

    public var schema: ParameterSchema { ParameterSchema(parameters ?? []) }

    /// What the template asks of a Kubernetes cluster beyond Pod Security's restricted level, in words.
    public var clusterNeeds: [String] {
        var needs: [String] = []
        if privileged == true { needs.append("a privileged container") }
        for text in mounts ?? [] {
            guard let mount = try? Mount(parsing: text, field: "mounts") else { continue }
            if mount.kind == .hostpath { needs.append("host path \(mount.source)") }
            if mount.kind == .nfs { needs.append("NFS volume \(mount.source)") }
        }
        if let serviceAccount { needs.append("service account \(serviceAccount)") }
        return needs
    }

    /// Every problem with the template, each naming its field.
    public func problems() -> [ValidationError] {
        var problems: [ValidationError] = []
        problems.record { () throws(ValidationError) in try Names.validateResourceName(name, field: "name") }
        problems.record { () throws(ValidationError) in _ = try SemanticVersion(parsing: version) }
        if image.trimmingCharacters(in: .whitespaces).isEmpty || image.contains(" ") {
            problems.append(ValidationError(field: "image", "must be an image reference such as python:3.12"))
        }
        if let command, command.isEmpty || command.contains(where: \.isEmpty) {
            problems.append(ValidationError(field: "command", "must be a non-empty list of non-empty strings"))
        }
        if let workingDir, !workingDir.hasPrefix("/") {
            problems.append(ValidationError(field: "workingDir", "must be an absolute path"))
        }
        for key in (env ?? [:]).keys.sorted() where !Self.isEnvironmentName(key) {
            problems.append(ValidationError(field: "env.\(key)", "is not a valid environment variable name"))
        }
        for (index, mount) in (mounts ?? []).enumerated() {
            problems.record { () throws(ValidationError) in _ = try Mount(parsing: mount, field: "mounts[\(index)]") }
        }
        if let account = serviceAccount {
            problems.record { () throws(ValidationError) in try Names.validateResourceName(account, field: "serviceAccount") }
        }
        if let gpu = resources?.gpu, gpu < 0 {
            problems.append(ValidationError(field: "resources.gpu", "must not be negative"))
        }
        problems += resources?.problems(field: "resources") ?? []
        for (index, line) in (hostAliases ?? []).enumerated() where line.split(separator: " ").count < 2 {
            problems.append(ValidationError(field: "hostAliases[\(index)]", "must be \"ip host [host...]\""))
        }
        return problems + schema.problems()
    }

    /// The fixed mounts, parsed (call after ``problems()`` found none).
    public func parsedMounts() throws(ValidationError) -> [Mount] {
        var parsed: [Mount] = []
        for (index, mount) in (mounts ?? []).enumerated() {
            parsed.append(try Mount(parsing: mount, field: "mounts[\(index)]"))
        }
        return parsed
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first) else {
            return false
        }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
        }
    }
}
