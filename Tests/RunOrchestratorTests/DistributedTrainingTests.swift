import Foundation
import Testing
import TrellisTestSupport

/// Distributed training with the frameworks themselves: a `pytorch` task of two replicas runs as two processes of this
/// machine that form a real PyTorch process group (gloo, on CPU) and all-reduce a tensor — which happens only when each
/// gets its own rank, the world size and the master's address and port. PyTorch's CPU build comes from
/// scripts/training-venv.sh (`TRELLIS_TEST_TRAINING_PYTHON`, set by `make test`); those tasks run unsandboxed so that they see
/// that venv. An `mpi` task of two ranks all-reduces with Open MPI and mpi4py (Debian's), in the sandbox. TensorFlow
/// itself is too heavy here: three `tensorflow` replicas check the `TF_CONFIG` each gets as TensorFlow documents it —
/// one cluster, each its own role and index, and its own address free for it to listen on. Ray (from the same venv as
/// PyTorch) forms a cluster of a head and a worker.
@Suite struct DistributedTrainingTests {
    static let script = """
        import os, torch, torch.distributed as dist
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        assert rank == int(os.environ["RANK"]) and os.environ["LOCAL_RANK"] == os.environ["RANK"], "rank"
        t = torch.tensor([rank + 1.0])
        dist.all_reduce(t)
        print(f"rank {rank} of {world}: sum {t.item()}")
        dist.destroy_process_group()
        """

    /// Runs `task` (a task of `replicas` replicas, bounded by a 5-minute timeout) alone on the platform, and hands how
    /// its run ended and the task's log to `check`.
    static func runAlone(
        _ task: [String: Any], flags: [String: String] = [:], _ check: @escaping @Sendable (_ state: String?, _ log: String) throws -> Void
    ) async throws {
        let name = try #require(task["name"] as? String)
        // As JSON: the platform's closure may not hold the dictionary itself.
        let document = try JSONSerialization.data(withJSONObject: task.merging(["timeout": "5m"]) { $1 })
        try await EmbeddedHarness.with(.sqlite, flags: flags) { api, _ in
            let timed = try #require(try JSONSerialization.jsonObject(with: document) as? [String: Any])
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let token = try #require(try await api.team(project: "train", owner: "olga", members: [], admin: admin)["olga"])
            try await api.applyPipeline("distributed", project: "train", token: token, tasks: [timed])
            let run = try await api.startRun("distributed", project: "train", token: token)
            let ended = try await api.waitForRun(run, project: "train", token: token, limit: .seconds(300))
            let log = try await api.call("GET", "/api/v1/projects/train/runs/\(run)/tasks/\(name)/logs", token: token).text
            try check(ended["state"] as? String, log)
        }
    }

    @Test func twoPyTorchReplicasFormAGroupAndAllReduce() async throws {
        guard let python = ProcessInfo.processInfo.environment["TRELLIS_TEST_TRAINING_PYTHON"] else {
            throw TransportError("TRELLIS_TEST_TRAINING_PYTHON is not set: run the tests with `make test` (scripts/training-venv.sh)")
        }
        let task: [String: Any] = [
            "name": "allreduce", "template": "pytorch", "replicas": 2, "args": ["script": Self.script, "python": python],
        ]
        try await Self.runAlone(task, flags: ["local.executor": "unsandboxed"]) { state, log in
            #expect(state == "succeeded", "\(log)")
            // Ranks 1 and 2 summed over the group: 3 in each replica.
            for rank in 0..<2 {
                #expect(log.contains("[replica-\(rank)] rank \(rank) of 2: sum 3.0"), "\(log)")
            }
        }
    }

    /// A Ray head and one worker: the script (the driver) runs once both nodes are alive and runs a remote function
    /// pinned to the worker's node, which only a worker that joined the head at its address can run.
    @Test func aRayHeadAndAWorkerRunARemoteFunctionOnTheWorker() async throws {
        guard let python = ProcessInfo.processInfo.environment["TRELLIS_TEST_TRAINING_PYTHON"] else {
            throw TransportError("TRELLIS_TEST_TRAINING_PYTHON is not set: run the tests with `make test` (scripts/training-venv.sh)")
        }
        let script = """
            import ray
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
            ray.init()
            nodes = [n for n in ray.nodes() if n["Alive"]]
            workers = [n["NodeID"] for n in nodes if "node:__internal_head__" not in n["Resources"]]
            assert len(nodes) == 2 and len(workers) == 1, nodes
            @ray.remote
            def where():
                return ray.get_runtime_context().get_node_id()
            ran = ray.get(where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(workers[0], soft=False)).remote())
            print(f"{len(nodes)} nodes; ran on the worker: {ran == workers[0]}")
            """
        let task: [String: Any] = ["name": "cluster", "template": "ray", "replicas": 2, "args": ["script": script, "python": python]]
        try await Self.runAlone(task, flags: ["local.executor": "unsandboxed"]) { state, log in
            #expect(state == "succeeded", "\(log)")
            #expect(log.contains("[replica-0] 2 nodes; ran on the worker: True"), "\(log)")
        }
    }

    @Test func twoMPIRanksAllReduce() async throws {
        let program =
            "from mpi4py import MPI; c = MPI.COMM_WORLD; print(f'rank {c.Get_rank()} of {c.Get_size()}: sum {c.allreduce(c.Get_rank() + 1)}')"
        let task: [String: Any] = [
            "name": "allreduce", "template": "mpi", "replicas": 2, "args": ["command": "/usr/bin/python3 -c \"\(program)\""],
        ]
        try await Self.runAlone(task) { state, log in
            #expect(state == "succeeded", "\(log)")
            // Both ranks' output is in the launcher's log.
            for rank in 0..<2 {
                #expect(log.contains("[replica-0] rank \(rank) of 2: sum 3"), "\(log)")
            }
        }
    }

    @Test func tensorflowReplicasEachGetTheirRoleAndAnAddressOfTheirOwn() async throws {
        let script = """
            import json, os, socket
            config = json.loads(os.environ["TF_CONFIG"])
            task = config["task"]
            host, port = config["cluster"][task["type"]][task["index"]].rsplit(":", 1)
            socket.socket().bind((host, int(port)))
            print(task["type"], task["index"], json.dumps(config["cluster"], sort_keys=True))
            """
        let task: [String: Any] = ["name": "train", "template": "tensorflow", "replicas": 3, "args": ["script": script, "ps": 1]]
        try await Self.runAlone(task) { state, log in
            #expect(state == "succeeded", "\(log)")
            var clusters: Set<String> = []
            for (rank, role) in ["chief 0", "worker 0", "ps 0"].enumerated() {
                let line = try #require(log.split(separator: "\n").first { $0.contains("[replica-\(rank)] \(role) ") }, "\(log)")
                clusters.insert(String(line.split(separator: " ", maxSplits: 4).last ?? ""))
            }
            // One cluster for all, with three addresses.
            #expect(clusters.count == 1, "\(log)")
            let cluster = try JSONDecoder().decode([String: [String]].self, from: Data(try #require(clusters.first).utf8))
            #expect(cluster.keys.sorted() == ["chief", "ps", "worker"] && Set(cluster.values.flatMap { $0 }).count == 3, "\(cluster)")
        }
    }
}
