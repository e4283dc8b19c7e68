import Foundation
import TrellisCore

/// Workflow statuses as Argo's controller writes them, for tests that read them back or play the controller.
public enum ArgoFixture {
    /// A node of `status.nodes`: its id, and the node (a `Pod` runs on `worker-1`).
    public static func node(
        _ id: String, _ name: String, type: String, phase: String, children: [String] = [], exitCode: String? = nil,
        message: String? = nil, started: String = "2026-11-29T10:00:00Z", finished: String? = nil
    ) -> (String, JSONValue) {
        var fields: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "displayName": .string(name), "type": .string(type), "phase": .string(phase),
            "startedAt": .string(started), "children": .array(children.map(JSONValue.string)),
        ]
        if let exitCode { fields["outputs"] = .object(["exitCode": .string(exitCode)]) }
        if let message { fields["message"] = .string(message) }
        if let finished { fields["finishedAt"] = .string(finished) }
        if type == "Pod" { fields["hostNodeName"] = .string("worker-1") }
        return (id, .object(fields))
    }

    /// `status`: the phase, the nodes, and the message when there is one.
    public static func status(phase: String, message: String? = nil, _ nodes: [(String, JSONValue)]) -> JSONValue {
        var status: [String: JSONValue] = ["phase": .string(phase), "nodes": .object(Dictionary(uniqueKeysWithValues: nodes))]
        if let message { status["message"] = .string(message) }
        return .object(status)
    }
}

/// Manifests the tests compile or submit, written to `TRELLIS_ARGO_MANIFESTS` (set by `make test`), where
/// Tests/Argo/validate.py checks each against Argo's JSON schema.
public enum ArgoManifests {
    public static func save(_ json: Data, name: String) throws {
        let directory =
            ProcessInfo.processInfo.environment["TRELLIS_ARGO_MANIFESTS"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("trellis-argo-manifests")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try json.write(to: directory.appendingPathComponent("\(name).json"))
    }
}
