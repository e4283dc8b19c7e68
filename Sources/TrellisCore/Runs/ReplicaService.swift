/// The stable network identity of a replicated task's pods on Kubernetes (a task without a training framework): a
/// headless Service per run and task selecting its pods, and each pod's host name `replica-N` under it (Argo's
/// `podSpecPatch`, from the replica's rank), so that `TRELLIS_MASTER_ADDR` — replica 0's name — resolves from every
/// replica as soon as the pods exist (`publishNotReadyAddresses`). The cluster gateway creates the Services with the
/// Workflow, owned by it.
public enum ReplicaService {
    /// The port replica 0 is told to listen on (each pod has its own address).
    public static let masterPort = 29500

    /// `{task, at most 30 characters}-{run id without dashes}`: a DNS label (at most 63 characters, starting with the
    /// task's letter), one per run and task.
    public static func name(run: String, task: String) -> String {
        "\(task.prefix(30))-\(run.filter { $0 != "-" }.lowercased())"
    }

    /// Replica `replica`'s host name, as the namespace's pods resolve it.
    public static func host(replica: Int, run: String, task: String, namespace: String) -> String {
        "replica-\(replica).\(name(run: run, task: task)).\(namespace).svc"
    }

    static func podSpecPatch(run: String, task: String) -> String {
        JSONValue.object([
            "hostname": .string("replica-{{inputs.parameters.replica}}"), "subdomain": .string(name(run: run, task: task)),
        ]).jsonText
    }

    /// The Services a Workflow's replicated tasks need: one per template with a `replica` input, selecting the pods of
    /// its run and task (from the template's labels).
    public static func services(of workflow: JSONValue) -> [JSONValue] {
        guard case .array(let templates)? = workflow["spec"]?["templates"] else { return [] }
        return templates.compactMap { template -> JSONValue? in
            guard case .array(let inputs)? = template["inputs"]?["parameters"], inputs.contains(where: { $0["name"]?.string == "replica" }),
                case .object(let labels)? = template["metadata"]?["labels"], let run = labels["trellis/run"]?.string,
                let task = labels["trellis/task"]?.string
            else { return nil }
            return .object([
                "apiVersion": .string("v1"), "kind": .string("Service"),
                "metadata": .object(["name": .string(name(run: run, task: task)), "labels": .object(labels)]),
                "spec": .object([
                    "clusterIP": .string("None"), "publishNotReadyAddresses": .bool(true),
                    "selector": .object(["trellis/run": .string(run), "trellis/task": .string(task)]),
                ]),
            ])
        }
    }
}
