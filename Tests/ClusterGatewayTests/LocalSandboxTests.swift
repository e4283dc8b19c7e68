import Foundation
import ServiceContracts
import Testing
import TrellisCore
import TrellisHTTP

@testable import ClusterGateway

@Suite struct LocalSandboxTests {
    static let system: [LocalSandbox.SystemPath] = [.folder("/usr"), .symlink("/bin", target: "usr/bin"), .folder("/etc"), .folder("/opt")]

    static func sandbox(data: String = "/srv/trellis") -> LocalSandbox {
        LocalSandbox(
            mode: .sandboxed(bubblewrap: "/usr/bin/bwrap"), users: 2_000_000...2_000_999, processLimit: 256, fileLimit: 1024,
            cgroups: ControlGroupRoots(version: 1, bases: ["pids": "/sys/fs/cgroup/pids", "memory": "/sys/fs/cgroup/memory"]),
            system: system, hostName: "node-1", dataDirectory: data, workRoot: "/var/tmp/trellis-work")
    }

    static func request(
        mounts: [String]? = nil, hostPaths: [String]? = nil, network: Bool? = nil, workingDirectory: String? = nil
    ) -> ExecutionRequest {
        ExecutionRequest(
            id: "run-task-1", project: "ml", pipeline: "p", run: "run", task: "task", attempt: 1, command: ["true"], environment: [:],
            image: "", workingDirectory: workingDirectory, replicas: 1, timeoutMilliseconds: nil, stopGraceMilliseconds: 1000,
            keepWorkingDirectory: false, mounts: mounts, hostPaths: hostPaths, network: network, memoryLimitBytes: 64 << 20)
    }

    /// The static shim is bound read-only into each sandbox, after the task's own mounts (none covers it), and the
    /// supervisor is told to measure through it.
    @Test func theShimMeasuresFromInsideTheSandbox() throws {
        var sandbox = Self.sandbox()
        #expect(try sandbox.confinement(for: Self.request(), user: 2_000_007).measured == false)
        sandbox.shimPath = "/opt/trellis/bin/trellis-shim"
        let confinement = try sandbox.confinement(for: Self.request(mounts: ["512Mi(memory):/run"]), user: 2_000_007)
        #expect(confinement.measured)
        let text = confinement.sandbox.joined(separator: " ")
        #expect(text.hasSuffix("--tmpfs /run --ro-bind /opt/trellis/bin/trellis-shim /run/trellis/shim --chdir /work --"), "\(text)")
    }

    @Test func theSandboxShowsTheSystemReadOnlyAndOnlyItsOwnFolderWritable() throws {
        let confinement = try Self.sandbox().confinement(for: Self.request(), user: 2_000_007)
        let arguments = confinement.sandbox
        #expect(arguments.first == "/usr/bin/bwrap" && arguments.last == "--")
        for flag in ["--die-with-parent", "--new-session", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--disable-userns"] {
            #expect(arguments.contains(flag), "\(flag)")
        }
        #expect(!arguments.contains("--unshare-net"))
        let text = arguments.joined(separator: " ")
        #expect(text.contains("--ro-bind /usr /usr --symlink usr/bin /bin --ro-bind /etc /etc"))
        #expect(text.contains("--tmpfs /tmp --bind /var/tmp/trellis-work/run-task-1 /work") && text.contains("--chdir /work --"))
        #expect(!text.contains("/srv/trellis"), "the data directory is neither bound nor named")
        #expect(confinement.uid == 2_000_007 && confinement.gid == 2_000_007)
        #expect(confinement.processLimit == 256 && confinement.userProcessLimit == 256 * 16 && confinement.fileLimit == 1024)
        #expect(confinement.cgroups == ["/sys/fs/cgroup/memory/trellis-run-task-1", "/sys/fs/cgroup/pids/trellis-run-task-1"])
        #expect(confinement.cgroupSettings == ["pids.max=256", "memory.limit_in_bytes=67108864"])
        // Without resources, no control groups (joining one costs more than the sandbox): the user's limit bounds it.
        var plain = Self.request()
        plain.memoryLimitBytes = nil
        let bare = try Self.sandbox().confinement(for: plain, user: 2_000_007)
        #expect(bare.cgroups.isEmpty && bare.cgroupSettings.isEmpty && bare.userProcessLimit == 256)
    }

    @Test func networkOffMountsAndTheWorkingDirectory() throws {
        let sandbox = Self.sandbox(data: "/opt/trellis/data")
        let confinement = try sandbox.confinement(
            for: Self.request(
                mounts: ["/usr/share(hostpath):/data", "4Gi(memory):/dev-shm", "ws(pvc):/mnt"], hostPaths: ["/usr"], network: false,
                workingDirectory: "/app"),
            user: nil)
        let text = confinement.sandbox.joined(separator: " ")
        #expect(text.contains("--unshare-net"))
        #expect(text.contains("--tmpfs /opt/trellis/data"), "a data directory inside a bound system folder is covered")
        #expect(text.contains("--bind /usr/share /data") && text.contains("--size 4294967296 --tmpfs /dev-shm") && !text.contains("/mnt"))
        #expect(text.contains("--bind /var/tmp/trellis-work/run-task-1 /app --") && text.hasSuffix("--chdir /app --"))
        #expect(confinement.uid == nil)
        #expect(LocalSandbox.workingDirectory("/usr/src", system: Self.system) == "/work")
        #expect(LocalSandbox.workingDirectory("/a/../usr", system: Self.system) == "/work")
        #expect(LocalSandbox.workingDirectory("/", system: Self.system) == "/work")
    }

    /// A symlink a task left in an allowed folder: followed, it must still lead into the allowed folders, and never
    /// to Trellis's files.
    @Test func aSymlinkInAnAllowedFolderLeadsNowhereElse() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-links-\(UUID().uuidString)").path
        for folder in ["data", "trellis", "other"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createSymbolicLink(atPath: root + "/data/to-trellis", withDestinationPath: root + "/trellis")
        try FileManager.default.createSymbolicLink(atPath: root + "/data/to-other", withDestinationPath: root + "/other")
        let sandbox = Self.sandbox(data: root + "/trellis")
        func refusal(_ mount: String, allowed: [String]) -> String {
            do {
                _ = try sandbox.localMounts([mount], allowed: allowed)
                return "mounted"
            } catch {
                return error.message
            }
        }
        #expect(refusal("\(root)/data/to-other(hostpath):/x", allowed: [root + "/data"]).contains("outside the project's host folders"))
        #expect(refusal("\(root)/data/to-trellis(hostpath):/x", allowed: [root]).contains("Trellis's own files"))
        #expect(refusal("\(root)/data/missing(hostpath):/x", allowed: [root]).contains("No such file"))
        #expect(try sandbox.localMounts(["\(root)/data(hostpath):/x"], allowed: [root + "/data"]).first?.source == root + "/data")
    }

    @Test func trellissOwnFilesAreNeverMounted() {
        // An admin allowed everything; the data directory, what holds it and what is in it stay out.
        let sandbox = Self.sandbox(data: "/usr/share/doc")
        for mount in ["/usr/share/doc(hostpath):/x", "/usr/share(hostpath):/x", "/(hostpath):/x", "/usr/share/doc/bash(hostpath):/x"] {
            #expect(throws: APIError.self, "\(mount)") { try sandbox.localMounts([mount], allowed: ["/"]) }
        }
        for mount in ["/usr/../usr/share/doc(hostpath):/x", "/usr/lib(hostpath):/proc/self", "lots(memory):/scratch"] {
            #expect(throws: APIError.self, "\(mount)") { try sandbox.localMounts([mount], allowed: ["/"]) }
        }
        #expect((try? sandbox.localMounts(["/usr/lib(hostpath):/x"], allowed: ["/"]))?.count == 1)
    }

    @Test func tasksGetAFixedBaseEnvironmentAndTheirOwn() {
        let environment = Self.sandbox().environment(["PATH": "/opt/conda/bin:/usr/bin", "TRELLIS_PROJECT": "ml"], work: "/w")
        #expect(environment == ["HOME=/tmp", "LANG=C.UTF-8", "PATH=/opt/conda/bin:/usr/bin", "TRELLIS_PROJECT=ml"])
    }

    @Test func unavailableSandboxesRefuseLaunchesSayingWhy() {
        var sandbox = Self.sandbox()
        sandbox.mode = .unavailable("bubblewrap is not installed")
        #expect(throws: APIError.self) { try sandbox.confinement(for: Self.request(), user: nil) }
        #expect(sandbox.summary.contains("bubblewrap is not installed"))
    }
}
