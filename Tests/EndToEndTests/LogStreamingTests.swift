import AsyncHTTPClient
import Foundation
import Testing
import TrellisTestSupport

/// A task that writes 100 MB: its log downloads in full through the real server, whose memory does not grow with it.
@Suite(.serialized, .aloneAmongDeployments) struct LogStreamingTests {
    @Test func aHundredMegabyteLogStreamsWithoutBeingHeldInMemory() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-biglog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let port = try Processes.freePorts(1)
        let server = try await Processes.serve(
            dataDir: dataDir, port: port, log: "serve.log", environment: ["TRELLIS_ADMIN_PASSWORD": "big-log-password"])
        defer { if server.isRunning { server.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        let api = HTTPTransport(baseURL: base, client: HTTPClient.shared)
        let admin = try await api.login("admin", "big-log-password")
        // 100,000 lines of 1,000 characters.
        try await api.applyPipeline(
            "loud", project: "demo", token: admin,
            tasks: [
                ["name": "loud", "template": "shell", "args": ["command": "head -c 100000000 /dev/zero | tr '\\\\0' x | fold -w 1000"]]
            ])
        let id = try await api.startRun("loud", project: "demo", token: admin)
        let run = try await api.waitForRun(id, project: "demo", token: admin, limit: .seconds(300))
        #expect(run["state"] as? String == "succeeded")

        let before = try Self.peakResidentKilobytes(server.processIdentifier)
        var request = HTTPClientRequest(url: "\(base)/api/v1/projects/demo/runs/\(id)/tasks/loud/logs")
        request.headers.add(name: "Authorization", value: "Bearer \(admin)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        #expect(response.status == .ok)
        let bytes = try await Waiting.within(.seconds(300), "the whole 100 MB log") {
            var bytes = 0
            for try await chunk in response.body { bytes += chunk.readableBytes }
            return bytes
        }
        // Every line, each with its timestamp: 100,000 × ("2026-11-29T04:38:53.123Z " + 1,000 characters + newline).
        #expect(bytes == 100_000 * (25 + 1_000 + 1))
        let grown = try Self.peakResidentKilobytes(server.processIdentifier) - before
        #expect(grown < 64 * 1024, "the server's peak memory grew by \(grown) KiB while streaming a \(bytes)-byte log")
        try await Processes.stop(server)
    }

    /// Live log streams are bounded per user: with 16 open on a running task, the 17th is refused (429) saying so;
    /// when the task ends, its streams end and free their slots.
    @Test func liveLogStreamsAreBoundedPerUser() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-streams-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let shared = URL(fileURLWithPath: dataDir.path + "-shared")
        defer { try? FileManager.default.removeItem(at: shared) }
        let port = try Processes.freePorts(1)
        let server = try await Processes.serve(
            dataDir: dataDir, port: port, log: "serve.log", environment: ["TRELLIS_ADMIN_PASSWORD": "streams-password"])
        defer { if server.isRunning { server.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await Self.boundStreams(base: base, client: client, shared: shared)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        try await Processes.stop(server)
    }

    static func boundStreams(base: String, client: HTTPClient, shared: URL) async throws {
        let api = HTTPTransport(baseURL: base, client: client)
        let admin = try await api.login("admin", "streams-password")
        try await api.shareFolder(shared, project: "demo", admin: admin)
        let gate = shared.appendingPathComponent("go").path
        try await api.applyPipeline(
            "held", project: "demo", token: admin,
            tasks: [
                [
                    "name": "held", "template": "shell",
                    "args": [
                        "command": "echo started; i=0; until [ -f \(gate) ]; do i=$((i+1)); [ $i -lt 2400 ] || exit 1; sleep 0.05; done"
                    ],
                ]
            ])
        let id = try await api.startRun("held", project: "demo", token: admin)
        _ = try await api.waitForRun(id, project: "demo", token: admin) { RunJSON.state($0, "held") == "running" }
        var request = HTTPClientRequest(url: "\(base)/api/v1/projects/demo/runs/\(id)/tasks/held/logs?follow=true")
        request.headers.add(name: "Authorization", value: "Bearer \(admin)")
        var open: [HTTPClientResponse] = []
        for _ in 0..<16 {
            let response = try await client.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            open.append(response)
        }
        let refused = try await api.call("GET", "/api/v1/projects/demo/runs/\(id)/tasks/held/logs?follow=true", token: admin)
        #expect(refused.status == 429 && refused.text.contains("16 live log streams"), "\(refused.text)")
        // Reading without follow is not a live stream.
        #expect(try await api.call("GET", "/api/v1/projects/demo/runs/\(id)/tasks/held/logs", token: admin).status == 200)
        #expect(FileManager.default.createFile(atPath: gate, contents: Data()))
        for response in open {
            let text = try await Waiting.within(.seconds(60), "a followed log to end with its task") {
                String(buffer: try await response.body.collect(upTo: 1 << 20))
            }
            #expect(text.hasSuffix("event: end\ndata: succeeded\n\n"), "\(text)")
        }
        try await Waiting.until("the streams' slots to be free again") {
            try await api.call("GET", "/api/v1/projects/demo/runs/\(id)/tasks/held/logs?follow=true", token: admin).status == 200
        }
    }

    /// VmHWM: the most memory the process ever had resident.
    static func peakResidentKilobytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
