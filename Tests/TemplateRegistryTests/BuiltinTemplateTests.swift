import Foundation
import Testing
import TrellisCore

@testable import TemplateRegistry

/// The built-in templates' commands, run here as a local task would run them: command + flags from the arguments.
@Suite struct BuiltinTemplateTests {
    static func template(_ name: String) throws -> TemplateSpec {
        try #require(try BuiltinTemplates.all().first { $0.name == name })
    }

    /// Runs the template's command with the task's flags and returns (exit status, output).
    static func run(_ spec: TemplateSpec, args: [String: JSONValue], env: [String: String] = [:]) throws -> (Int32, String) {
        let flags = TaskInvocation.flags(try spec.schema.resolve(args, field: "args"))
        let command = (spec.command ?? []) + flags
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        // In a folder of its own, as a task's working directory is (the mpi launcher writes its hostfile there).
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("builtin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(spec.env ?? [:]) { $1 }.merging(env) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Bounded: a template that never ends is killed after a minute, and its expectations fail on status 15.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { process.terminate() } }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func everyBuiltInIsAValidTemplateWithAReadme() throws {
        for spec in try BuiltinTemplates.all() {
            #expect(spec.problems() == [], "\(spec.name)")
            #expect(spec.readme?.hasPrefix("# \(spec.name)") == true)
        }
    }

    @Test func shellRunsTheCommandInTheWorkdir() throws {
        let (status, output) = try Self.run(
            try Self.template("shell"), args: ["command": .string("pwd; echo \"a b\" | wc -w; exit 3"), "workdir": .string("/usr")])
        #expect(status == 3)
        #expect(output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["/usr", "2"])
    }

    @Test func distributedShellSeesItsRank() throws {
        let (status, output) = try Self.run(
            try Self.template("distributed-shell"), args: ["command": .string("echo rank $TRELLIS_REPLICA of $TRELLIS_REPLICAS")],
            env: ["TRELLIS_REPLICA": "1", "TRELLIS_REPLICAS": "3"]
        )
        #expect(status == 0)
        #expect(output == "rank 1 of 3\n")
    }

    @Test func pytorchGivesEachReplicaWhatTorchDistributedReads() throws {
        let script =
            "import os\nprint(*[os.environ[k] for k in ['MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE']])"
        let (status, output) = try Self.run(
            try Self.template("pytorch"), args: ["script": .string(script)],
            env: [
                "TRELLIS_REPLICA": "1", "TRELLIS_REPLICAS": "2", "TRELLIS_MASTER_ADDR": "10.0.0.7", "TRELLIS_MASTER_PORT": "23456",
                "TRELLIS_LOCAL_REPLICA": "1", "TRELLIS_LOCAL_REPLICAS": "2",
            ])
        #expect(status == 0 && output == "10.0.0.7 23456 2 1 1 2\n", "\(output)")
        // One replica alone is a group of one.
        let (_, alone) = try Self.run(try Self.template("pytorch"), args: ["script": .string(script)])
        #expect(alone == "127.0.0.1 29500 1 0 0 1\n", "\(alone)")
        // In a PyTorchJob's worker pod the operator's variables are kept (Trellis sets only TRELLIS_REPLICAS there).
        let (_, operated) = try Self.run(
            try Self.template("pytorch"), args: ["script": .string(script)],
            env: ["TRELLIS_REPLICAS": "3", "MASTER_ADDR": "train-x2k9q-master-0", "MASTER_PORT": "23456", "WORLD_SIZE": "3", "RANK": "2"])
        #expect(operated == "train-x2k9q-master-0 23456 3 2 0 1\n", "\(operated)")
    }

    @Test func xgboostSetsTheRankAndRabitTrackerVariables() throws {
        let script = JSONValue.string(
            "import os\nprint(*[os.environ[k] for k in ['MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'RANK', 'DMLC_TRACKER_URI', "
                + "'DMLC_TRACKER_PORT', 'DMLC_TASK_ID', 'DMLC_NUM_WORKER']])")
        let (status, local) = try Self.run(
            try Self.template("xgboost"), args: ["script": script],
            env: ["TRELLIS_REPLICA": "1", "TRELLIS_REPLICAS": "2", "TRELLIS_MASTER_ADDR": "127.0.0.1", "TRELLIS_MASTER_PORT": "40001"])
        #expect(status == 0 && local == "127.0.0.1 40001 2 1 127.0.0.1 40001 1 2\n", "\(local)")
        let (_, operated) = try Self.run(
            try Self.template("xgboost"), args: ["script": script],
            env: ["TRELLIS_REPLICAS": "2", "MASTER_ADDR": "boost-master-0", "MASTER_PORT": "9999", "WORLD_SIZE": "2", "RANK": "0"])
        #expect(operated == "boost-master-0 9999 2 0 boost-master-0 9999 0 2\n", "\(operated)")
    }

    @Test func mpiRunsEveryRankFromTheLauncherAlone() throws {
        let command = JSONValue.string("echo rank $OMPI_COMM_WORLD_RANK")
        // A worker replica has nothing to do: the launcher's mpirun starts every rank.
        let worker = try Self.run(
            try Self.template("mpi"), args: ["command": command], env: ["TRELLIS_REPLICA": "1", "TRELLIS_REPLICAS": "2"])
        #expect(worker == (0, ""))
        let (status, output) = try Self.run(
            try Self.template("mpi"), args: ["command": command], env: ["TRELLIS_REPLICA": "0", "TRELLIS_REPLICAS": "2"])
        #expect(status == 0 && output.split(separator: "\n").sorted() == ["rank 0", "rank 1"], "\(output)")
        // An MPIJob's launcher (no TRELLIS_REPLICA) starts the ranks with the operator's hostfile.
        let hostfile = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-hostfile-\(UUID().uuidString)")
        try Data("localhost slots=3\n".utf8).write(to: hostfile)
        defer { try? FileManager.default.removeItem(at: hostfile) }
        let (launched, ranks) = try Self.run(
            try Self.template("mpi"), args: ["command": command],
            env: ["TRELLIS_REPLICAS": "3", "OMPI_MCA_orte_default_hostfile": hostfile.path])
        #expect(launched == 0 && ranks.split(separator: "\n").sorted() == ["rank 0", "rank 1", "rank 2"], "\(ranks)")
        let (missing, said) = try Self.run(
            try Self.template("mpi"), args: ["command": command],
            env: ["TRELLIS_REPLICAS": "3", "OMPI_MCA_orte_default_hostfile": hostfile.path + ".absent"])
        #expect(missing != 0 && said.contains(".absent"), "\(said)")
    }

    @Test func tensorflowSetsTFConfigAsTensorFlowReadsIt() throws {
        let script = JSONValue.string("import os; print(os.environ['TF_CONFIG'])")
        let replica = { (rank: Int) in
            try Self.run(
                try Self.template("tensorflow"), args: ["script": script, "ps": .int(1)],
                env: ["TRELLIS_REPLICA": String(rank), "TRELLIS_REPLICAS": "4", "TRELLIS_REPLICA_PORTS": "1001,1002,1003,1004"])
        }
        let cluster: JSONValue = .object([
            "chief": .array([.string("127.0.0.1:1001")]), "worker": .array([.string("127.0.0.1:1002"), .string("127.0.0.1:1003")]),
            "ps": .array([.string("127.0.0.1:1004")]),
        ])
        for (rank, task) in [(0, ("chief", 0)), (1, ("worker", 0)), (2, ("worker", 1)), (3, ("ps", 0))] {
            let (status, output) = try replica(rank)
            let config = try JSONDecoder().decode(JSONValue.self, from: Data(output.utf8))
            #expect(status == 0 && config["cluster"] == cluster, "\(output)")
            #expect(config["task"] == .object(["type": .string(task.0), "index": .int(task.1)]), "\(output)")
        }
        // Every replica a parameter server leaves no chief: refused, saying why.
        let (status, output) = try Self.run(
            try Self.template("tensorflow"), args: ["script": script, "ps": .int(4)], env: ["TRELLIS_REPLICAS": "4"])
        #expect(status != 0 && output.contains("ps must be 0 to 3 for 4 replicas"), "\(output)")
    }

    @Test func rayInARayJobsDriverRunsTheScriptAgainstItsCluster() throws {
        // KubeRay's submission sets RAY_ADDRESS for the driver: no node is started, the script runs as it is.
        let (status, output) = try Self.run(
            try Self.template("ray"), args: ["script": .string("import os; print('driver of', os.environ['RAY_ADDRESS'])")],
            env: ["RAY_ADDRESS": "http://ddp-head-svc:8265", "TRELLIS_REPLICAS": "3"])
        #expect(status == 0 && output == "driver of http://ddp-head-svc:8265\n", "\(output)")
    }

    @Test func pythonRunsTheInlineScript() throws {
        let (status, output) = try Self.run(
            try Self.template("python"), args: ["script": .string("import os, sys\nprint(len(sys.argv), os.environ['PYTHONUNBUFFERED'])")])
        #expect(status == 0)
        #expect(output == "1 1\n")
    }

    @Test func noopSucceeds() throws {
        #expect(try Self.run(try Self.template("noop"), args: [:]).0 == 0)
    }
}
