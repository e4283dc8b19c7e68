import Foundation
import Testing

@testable import TrellisCore

@Suite struct HostPathTests {
    @Test func onlyCleanAbsolutePathsArePrefixes() {
        for path in ["/", "/data", "/data/ml-team"] { #expect(HostPath.isClean(path), "\(path)") }
        for path in ["", "data", "/data/", "/data/../etc", "/./data", "//data", "/data/.", "/da\0ta"] {
            #expect(!HostPath.isClean(path), "\(path)")
        }
        #expect(HostPath.isWithin("/data/ml", "/data") && HostPath.isWithin("/data", "/data") && HostPath.isWithin("/etc", "/"))
        #expect(!HostPath.isWithin("/data2", "/data") && !HostPath.isWithin("/dat", "/data"))
    }

    @Test func hostMountsOutsideTheAllowListAreNamed() throws {
        func plan(_ mounts: [String]) -> RunPlan {
            var plan = try! JSONDecoder().decode(RunPlan.self, from: Data(#"{"pipeline":"p","version":1,"tasks":[]}"#.utf8))
            plan.tasks = [
                RunPlan.Task(
                    name: "train", id: "1", template: "shell@1.0.0", dependsOn: [], command: ["true"], environment: [:], image: "x",
                    workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, retry: try! RetryRule(nil, field: "retry"), skip: false,
                    mounts: mounts)
            ]
            return plan
        }
        let mixed = plan([
            "ws(pvc):/mnt", "/data/ml(hostpath):/data", "/etc(hostpath):/host-etc", "rel(hostpath):/r", "/data/../etc(hostpath):/e",
        ])
        let problems = HostPath.problems(of: mixed, project: "ml", allowed: ["/data"])
        #expect(problems.map(\.field) == ["spec.tasks[train].mounts[2]", "spec.tasks[train].mounts[3]", "spec.tasks[train].mounts[4]"])
        #expect(problems[0].message.contains("project ml may not mount /etc") && problems[0].message.contains("settings.hostPaths"))
        #expect(problems[0].message.contains("template shell@1.0.0"))
        #expect(HostPath.problems(of: plan(["/data(hostpath):/d"]), project: "ml", allowed: []).count == 1)
    }

    @Test func settingsNameABadHostPath() {
        let settings = ProjectSettings(hostPaths: ["/data", "relative", "/a/../b"])
        #expect(settings.problems().map(\.field) == ["settings.hostPaths[1]", "settings.hostPaths[2]"])
    }
}
