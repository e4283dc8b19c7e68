import ClusterGateway
import Foundation
import Synchronization
import Testing
import TrellisCore
import TrellisTestSupport

/// A Kubernetes attempt's resource use, from its cluster's Prometheus: the test kube-apiserver plays the cluster, a
/// test exporter serves cAdvisor's and DCGM's series for the attempt's pod (and for a pod of another namespace, which
/// must not count), and the Prometheus of scripts/with-prometheus.sh scrapes it every second.
@Suite struct PodUsageTests {
    /// The exporter's text: `seconds` since the start drive the CPU counter (0.75 of a core, its pause container and
    /// the pod-level total left out as Prometheus's queries must), memory 300 MiB, the GPU 55% with 1 GiB.
    static func exposition(namespace: String, pod: String, seconds: Double) -> String {
        let labels = #"namespace="\#(namespace)",pod="\#(pod)""#
        return """
            # HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.
            # TYPE container_cpu_usage_seconds_total counter
            container_cpu_usage_seconds_total{\(labels),container="main"} \(0.75 * seconds)
            container_cpu_usage_seconds_total{\(labels),container="POD"} \(0.01 * seconds)
            container_cpu_usage_seconds_total{\(labels),container=""} \(5 * seconds)
            # HELP container_memory_working_set_bytes Current working set in bytes.
            # TYPE container_memory_working_set_bytes gauge
            container_memory_working_set_bytes{\(labels),container="main"} 314572800
            container_memory_working_set_bytes{\(labels),container=""} 999999999
            container_memory_working_set_bytes{namespace="elsewhere",pod="\(pod)",container="main"} 123
            # HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
            # TYPE DCGM_FI_DEV_GPU_UTIL gauge
            DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-5d8e3b8a-1c2f-4f7e-9a0b-3c4d5e6f7a8b",Hostname="node-1",\(labels),container="main"} 55
            # HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
            # TYPE DCGM_FI_DEV_FB_USED gauge
            DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-5d8e3b8a-1c2f-4f7e-9a0b-3c4d5e6f7a8b",Hostname="node-1",\(labels),container="main"} 1024

            """
    }

    @Test func aPodsSeriesAppearOnItsAttempt() async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        guard let prometheus = ProcessInfo.processInfo.environment["TRELLIS_TEST_PROMETHEUS_URL"] else {
            throw TransportError("TRELLIS_TEST_PROMETHEUS_URL is not set: run the tests with `make test`")
        }
        let project = "pods-\(UUID().uuidString.prefix(8).lowercased())"
        let namespace = ArgoWorkflow.namespace(ofProject: project)
        try await KubernetesClient.with(kubernetes.cluster()) { client in
            try await EmbeddedHarness.with(.sqlite) { api, _ in
                let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
                let bad = try await api.call(
                    "POST", "/api/v1/clusters", token: admin,
                    json: [
                        "name": "lab", "server": kubernetes.server, "ca": kubernetes.ca, "token": kubernetes.token, "prometheus": "ftp://x",
                    ])
                #expect(bad.status == 400 && bad.text.contains("prometheus"), "\(bad.text)")
                let registered = try await api.call(
                    "POST", "/api/v1/clusters", token: admin,
                    json: [
                        "name": "lab", "server": kubernetes.server, "ca": kubernetes.ca, "token": kubernetes.token,
                        "prometheus": prometheus,
                        "policy": ["projects": [project]],
                    ])
                #expect(registered.status == 201 && registered.json["prometheus"] as? String == prometheus, "\(registered.text)")
                let token = try #require(try await api.team(project: project, owner: "olga", members: [], admin: admin)["olga"])
                let bound = try await api.call("PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": ["cluster": "lab"]])
                #expect(bound.status == 200, "\(bound.text)")
                try await api.applyPipeline(
                    "train", project: project, token: token,
                    tasks: [
                        [
                            "name": "fit", "template": "shell", "args": ["command": "python train.py"],
                            "resources": ["memory": "256Mi~512Mi"],
                        ]
                    ])
                let run = try await api.startRun("train", project: project, token: token)
                let argo = try await ArgoController.waitFor(run: run, client: client, namespace: namespace)
                let node = "\(argo.name)-1"
                try await argo.pod(node)
                try await argo.report("Running", [argo.root("Running"), argo.node("1", "fit", phase: "Running")])
                _ = try await api.waitForRun(run, project: project, token: token) { RunJSON.attempts($0, "fit").count == 1 }

                let started = Date()
                let serving = Mutex(true)
                let usagePath = "/api/v1/projects/\(project)/runs/\(run)/tasks/fit/attempts/1/usage"
                try await TestExporter.serve({
                    serving.withLock { $0 }
                        ? Self.exposition(namespace: namespace, pod: "pod-\(node)", seconds: Date().timeIntervalSince(started)) : ""
                }) {
                    var points: [[String: Any]] = []
                    try await Waiting.until("the pod's series on its attempt", limit: .seconds(180)) {
                        let usage = try await api.call("GET", usagePath, token: token)
                        let series = usage.json["series"] as? [[String: Any]] ?? []
                        points = series.first?["points"] as? [[String: Any]] ?? []
                        // Once the rate's window holds a few scrapes, 0.75 of a core: the main container's, not the
                        // pod-level total's nor the pause container's.
                        return series.map { $0["replica"] as? String } == ["pod-\(node)"]
                            && points.contains { abs(($0["cpuCores"] as? Double ?? 0) - 0.75) < 0.1 }
                    }
                    let latest = try #require(points.last)
                    #expect(latest["memoryBytes"] as? Int == 314_572_800, "\(latest)")
                    #expect(points.allSatisfy { ($0["cpuCores"] as? Double ?? 0) < 0.85 }, "\(points)")
                    #expect(latest["gpuPercent"] as? Double == 55 && latest["gpuMemoryBytes"] as? Int == 1 << 30, "\(latest)")
                    let usage = try await api.call("GET", usagePath, token: token)
                    #expect((usage.json["limits"] as? [String: Any])?["memoryBytes"] as? Int == 536_870_912, "\(usage.text)")
                    // The pod ends: its series stop, the attempt ends, and its usage is complete.
                    serving.withLock { $0 = false }
                    try await argo.report(
                        "Succeeded", [argo.root("Succeeded"), argo.node("1", "fit", phase: "Succeeded", exitCode: "0")])
                    try await Waiting.until("the attempt's usage complete", limit: .seconds(90)) {
                        try await api.call("GET", usagePath, token: token).json["complete"] as? Bool == true
                    }
                }
            }
        }
    }
}
