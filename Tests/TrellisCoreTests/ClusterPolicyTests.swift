import Foundation
import Testing
import TrellisCore

/// What a cluster's admins allow, checked against runs' plans, and what restricted pods look like.
@Suite struct ClusterPolicyTests {
    static func plan(_ configure: (inout RunPlan.Task) -> Void) -> RunPlan {
        RunPlan(pipeline: "p", version: 1, tasks: [ArgoWorkflowTests.task("t", configure: configure)])
    }

    @Test func eachLevelRefusesWhatItDoesNotAllowNamingTheField() {
        let everything = Self.plan {
            $0.privileged = true
            $0.serviceAccount = "cluster-admin"
            $0.mounts = [
                "/var/log(hostpath):/logs", "files:/export(nfs):/nfs", "db-password(secret):/secret", "ws(pvc):/mnt", "1Gi(memory):/shm",
            ]
        }
        let restricted = ClusterPolicy(projects: ["ml"])
        #expect(
            restricted.problems(of: everything, cluster: "lab").map(\.field)
                == [
                    "spec.tasks[t].privileged", "spec.tasks[t].serviceAccount", "spec.tasks[t].mounts[0]", "spec.tasks[t].mounts[1]",
                    "spec.tasks[t].mounts[2]",
                ])
        let message = restricted.problems(of: everything, cluster: "lab").first?.message ?? ""
        #expect(message.contains("template shell@1.0.0") && message.contains("cluster lab") && message.contains("restricted"))
        let baseline = ClusterPolicy(projects: ["ml"], level: .baseline, serviceAccounts: ["cluster-admin"], secrets: ["db-password"])
        #expect(baseline.problems(of: everything, cluster: "lab").map(\.field) == ["spec.tasks[t].privileged", "spec.tasks[t].mounts[0]"])
        let privileged = ClusterPolicy(
            projects: ["ml"], level: .privileged, hostPaths: ["/var/log"], serviceAccounts: ["cluster-admin"], secrets: ["db-password"])
        #expect(privileged.problems(of: everything, cluster: "lab").isEmpty)
        var narrower = privileged
        narrower.hostPaths = ["/var/log/app"]
        #expect(narrower.problems(of: everything, cluster: "lab").map(\.field) == ["spec.tasks[t].mounts[0]"])
        #expect(restricted.problems(of: Self.plan { _ in }, cluster: "lab").isEmpty, "a plain task fits restricted")
    }

    @Test func grantsAndTheirDefaults() throws {
        #expect(!ClusterPolicy.kubernetesDefault.grants("ml") && ClusterPolicy.kubernetesDefault.level == .restricted)
        #expect(ClusterPolicy.localDefault.grants("anyone"))
        #expect(ClusterPolicy(projects: ["ml"]).grants("ml") && !ClusterPolicy(projects: ["ml"]).grants("ops"))
        let decoded = try JSONDecoder().decode(ClusterPolicy.self, from: Data(#"{"level":"baseline"}"#.utf8))
        #expect(decoded == ClusterPolicy(projects: [], level: .baseline), "absent fields are the strict defaults")
        let bad = ClusterPolicy(projects: ["*", "Not A Name"], hostPaths: ["relative"], serviceAccounts: ["ok"], secrets: ["x/y"])
        #expect(bad.problems().map(\.field) == ["policy.projects[1]", "policy.hostPaths[0]", "policy.secrets[0]"])
        #expect(ClusterPolicy(level: .baseline).namespaceLabels["pod-security.kubernetes.io/enforce"] == "baseline")
        #expect(decoded.gpuLabel == "nvidia.com/gpu.product")
        #expect(ClusterPolicy(gpuLabel: "gpu type").problems().map(\.field) == ["policy.gpuLabel"])
        #expect(ClusterPolicy(gpuLabel: "example.com/accelerator").problems().isEmpty)
    }

    @Test func aGPUTypeIsALabelValueAskedWithGPUs() {
        var spec = TemplateSpec(name: "trainer", version: "1.0.0", image: "busybox:1")
        spec.resources = TemplateSpec.Resources(gpu: 1, gpuType: "NVIDIA-A100-SXM4-80GB")
        #expect(spec.problems().isEmpty)
        spec.resources = TemplateSpec.Resources(gpuType: "A100")
        #expect(spec.problems().map(\.description) == ["resources.gpuType: needs resources.gpu of at least 1"])
        spec.resources = TemplateSpec.Resources(gpu: 2, gpuType: "A100 80GB")
        #expect(spec.problems().map(\.field) == ["resources.gpuType"])
    }

    @Test func restrictedPodsRunAsNonRootWithoutCapabilities() throws {
        var plan = Self.plan { _ in }
        plan.podSecurity = .restricted
        let manifest = try ArgoWorkflowTests.compile(plan, "restricted")
        let security = (manifest["spec"] as? [String: Any])?["securityContext"] as? [String: Any] ?? [:]
        #expect(security["runAsNonRoot"] as? Bool == true && security["runAsUser"] as? Int == ArgoWorkflow.restrictedUser)
        #expect((security["seccompProfile"] as? [String: Any])?["type"] as? String == "RuntimeDefault")
        let container = ArgoWorkflowTests.template(manifest, "task-t")["container"] as? [String: Any] ?? [:]
        let context = container["securityContext"] as? [String: Any] ?? [:]
        #expect(context["allowPrivilegeEscalation"] as? Bool == false)
        #expect((context["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"])
        plan.podSecurity = .privileged
        let open = try ArgoWorkflowTests.compile(plan, "privileged-level")
        #expect((open["spec"] as? [String: Any])?["securityContext"] == nil)
    }
}
