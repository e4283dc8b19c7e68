import Foundation
import ServiceContracts
import TrellisCore
import TrellisHTTP

extension PodStatus {
    /// Read from the pod object and the events whose `involvedObject` is the pod.
    init(pod: JSONValue, events: [JSONValue]) {
        let status = pod["status"]
        var conditions: [Condition] = []
        if case .array(let items)? = status?["conditions"] {
            conditions = items.map {
                Condition(
                    type: $0["type"]?.string ?? "", status: $0["status"]?.string ?? "", reason: $0["reason"]?.string,
                    message: $0["message"]?.string)
            }
        }
        var main: JSONValue?
        if case .array(let containers)? = status?["containerStatuses"] {
            main = containers.first { $0["name"]?.string == "main" } ?? containers.first
        }
        let reported = events.map { event in
            Event(
                type: event["type"]?.string ?? "Normal", reason: event["reason"]?.string ?? "", message: event["message"]?.string ?? "",
                count: { if case .int(let count)? = event["count"] { count } else { 1 } }(),
                at: (event["lastTimestamp"]?.string ?? event["eventTime"]?.string).flatMap { ISO8601DateFormatter().date(from: $0) })
        }
        self.init(
            name: pod["metadata"]?["name"]?.string ?? "", phase: status?["phase"]?.string ?? "Pending",
            node: pod["spec"]?["nodeName"]?.string,
            container: main.flatMap { Self.describe($0["state"]) }, conditions: conditions,
            events: reported.sorted { ($0.at ?? .distantPast) < ($1.at ?? .distantPast) })
    }

    /// A container's state in a few words.
    static func describe(_ state: JSONValue?) -> String? {
        if let waiting = state?["waiting"] {
            return ["waiting", waiting["reason"]?.string].compactMap { $0 }.joined(separator: ": ")
        }
        if let terminated = state?["terminated"] {
            let code: String = if case .int(let code)? = terminated["exitCode"] { " (exit \(code))" } else { "" }
            return "terminated: \(terminated["reason"]?.string ?? "ended")\(code)"
        }
        return state?["running"] == nil ? nil : "running"
    }

    /// A pod that no longer exists (deleted, or its Workflow's time to live has passed).
    static func gone(_ name: String) -> PodStatus {
        PodStatus(name: name, phase: "Gone", node: nil, container: nil, conditions: [], events: [])
    }
}
