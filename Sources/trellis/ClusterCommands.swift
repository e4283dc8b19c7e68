import ArgumentParser
import Foundation
import TrellisCore

/// `trellis cluster list|add|remove|health|policy`: the clusters projects run on (all but list need an admin).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "The clusters projects run on: list, add (from a kubeconfig), remove, health, policy.",
        subcommands: [ListClusters.self, AddCluster.self, RemoveCluster.self, ClusterHealth.self, ClusterPolicyCommand.self])
}

/// `trellis cluster policy NAME [--grant P]… [--revoke P]… [--level L] [--host-path P]… [--service-account S]…
/// [--secret S]… [--gpu-label K]`: shows the cluster's policy, or changes it (read, changed, written back) and shows the result.
struct ClusterPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Show or change which projects may use a cluster and what their pods may ask of it.")
    @OptionGroup var server: ServerOptions

    @Argument(help: "The cluster's name (local included).")
    var name: String

    @Option(help: "Grant the cluster to a project (* for every project).")
    var grant: [String] = []

    @Option(help: "Take the cluster back from a project.")
    var revoke: [String] = []

    @Option(help: "The Pod Security level: restricted, baseline or privileged.")
    var level: String?

    @Option(help: "Allow pods to mount this host folder (privileged level only).")
    var hostPath: [String] = []

    @Option(help: "Allow pods to run as this service account.")
    var serviceAccount: [String] = []

    @Option(help: "Allow pods to mount this Secret.")
    var secret: [String] = []

    @Option(help: "The node label naming a node's kind of GPU, which a task's gpuType selects (nvidia.com/gpu.product).")
    var gpuLabel: String?

    func run() async throws {
        let client = APIClient(options: server)
        let path = "/api/v1/clusters/\(name)/policy"
        var (_, data) = try await client.send(.GET, path)
        let changes = !(grant + revoke + hostPath + serviceAccount + secret).isEmpty || level != nil || gpuLabel != nil
        if changes {
            var policy = try JSONDecoder().decode(ClusterPolicy.self, from: data)
            func merged(_ current: [String], _ adding: [String], removing: [String] = []) -> [String] {
                (current + adding.filter { !current.contains($0) }).filter { !removing.contains($0) }
            }
            policy.projects = merged(policy.projects, grant, removing: revoke)
            policy.hostPaths = merged(policy.hostPaths, hostPath)
            policy.serviceAccounts = merged(policy.serviceAccounts, serviceAccount)
            policy.secrets = merged(policy.secrets, secret)
            if let level {
                guard let parsed = ClusterPolicy.Level(rawValue: level) else {
                    throw ArgumentParser.ValidationError("--level must be restricted, baseline or privileged, not \(level)")
                }
                policy.level = parsed
            }
            if let gpuLabel { policy.gpuLabel = gpuLabel }
            (_, data) = try await client.send(.PUT, path, body: try JSONEncoder().encode(policy))
        }
        print(String(decoding: data, as: UTF8.self))
    }
}

struct ListClusters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every cluster: name, kind, server.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        struct Listed: Decodable {
            struct Cluster: Decodable { let name: String, kind: String, server: String?, namespace: String? }
            let clusters: [Cluster]
        }
        let (_, data) = try await APIClient(options: server).send(.GET, "/api/v1/clusters")
        for cluster in try JSONDecoder().decode(Listed.self, from: data).clusters {
            print(
                [cluster.name, cluster.kind, cluster.server, cluster.namespace.map { "namespace \($0)" }].compactMap { $0 }.joined(
                    separator: "  "))
        }
    }
}

struct AddCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Register a Kubernetes cluster from a context of a kubeconfig file (credentials are sealed).")
    @OptionGroup var server: ServerOptions

    @Argument(help: "The cluster's name in Trellis.")
    var name: String

    @Option(help: "The kubeconfig file (default: KUBECONFIG, else ~/.kube/config).")
    var kubeconfig: String?

    @Option(help: "The context to take (default: the file's current context).")
    var context: String?

    @Option(help: "The namespace its health check looks at (default: the context's, else default).")
    var namespace: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path =
            kubeconfig ?? environment["KUBECONFIG"]?.split(separator: ":").first.map(String.init)
            ?? URL(fileURLWithPath: environment["HOME"] ?? ".").appendingPathComponent(".kube/config").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ArgumentParser.ValidationError("cannot read \(path)")
        }
        var body: [String: String] = ["name": name, "kubeconfig": text]
        body["context"] = context
        body["namespace"] = namespace
        _ = try await APIClient(options: server).send(.POST, "/api/v1/clusters", body: try JSONEncoder().encode(body))
        print("cluster \(name) registered; check it with: trellis cluster health \(name)")
    }
}

struct RemoveCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a registered cluster.")
    @OptionGroup var server: ServerOptions

    @Argument(help: "The cluster's name.")
    var name: String

    func run() async throws {
        _ = try await APIClient(options: server).send(.DELETE, "/api/v1/clusters/\(name)")
        print("cluster \(name) removed")
    }
}

struct ClusterHealth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Whether Trellis reaches the cluster with its credentials; exits 1 when not.")
    @OptionGroup var server: ServerOptions

    @Argument(help: "The cluster's name.")
    var name: String

    func run() async throws {
        struct Health: Decodable { let ok: Bool, message: String }
        let (_, data) = try await APIClient(options: server).send(.GET, "/api/v1/clusters/\(name)/health")
        let health = try JSONDecoder().decode(Health.self, from: data)
        print("\(name): \(health.ok ? "ok" : "failing"): \(health.message)")
        if !health.ok { throw ExitCode.failure }
    }
}
