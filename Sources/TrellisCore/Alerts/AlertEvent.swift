import Foundation

/// Something that happened to a pipeline that its alert rule may ask to hear of: a run ended, a schedule tick expired
/// or failed, a run has been running long. Its id is the same however often it is recorded, so it is sent once.
public struct AlertEvent: Codable, Sendable, Equatable {
    public enum Kind: Sendable, Equatable, Hashable {
        case ended(AlertTrigger)
        case runningLong

        public var rawValue: String {
            switch self {
            case .ended(let trigger): trigger.rawValue
            case .runningLong: "running_long"
            }
        }

        public init?(rawValue: String) {
            if rawValue == "running_long" {
                self = .runningLong
            } else if let trigger = AlertTrigger(rawValue: rawValue) {
                self = .ended(trigger)
            } else {
                return nil
            }
        }
    }

    public var id: String
    public var kind: Kind
    public var project: String
    public var pipeline: String
    public var run: String?
    public var executionDate: Date?
    /// The run's state, or the tick's.
    public var state: String?
    public var reason: String?
    public var occurredAt: Date

    public init(
        id: String, kind: Kind, project: String, pipeline: String, run: String? = nil, executionDate: Date? = nil, state: String? = nil,
        reason: String? = nil, occurredAt: Date
    ) {
        self.id = id
        self.kind = kind
        self.project = project
        self.pipeline = pipeline
        self.run = run
        self.executionDate = executionDate
        self.state = state
        self.reason = reason
        self.occurredAt = occurredAt
    }

    /// The id of a run's end: a resumed run that ends again is a new event.
    public static func endID(run: String, finishedAt: Int64) -> String { "run:\(run):end:\(finishedAt)" }
    /// The id of a run's "running long" alert: once per round (a resume starts a new one).
    public static func runningLongID(run: String, startedAt: Int64) -> String { "run:\(run):long:\(startedAt)" }
    /// The id of a tick's end at `at` (a retried tick that fails again is a new event).
    public static func tickID(project: String, pipeline: String, executionDate: Int64, state: String, at: Int64) -> String {
        "tick:\(project):\(pipeline):\(executionDate):\(state):\(at)"
    }

    // MARK: Words

    /// One line: what happened to which pipeline.
    public var title: String {
        let what =
            switch kind {
            case .ended(.succeeded): "succeeded"
            case .ended(.failed): "failed"
            case .ended(.cancelled): "was cancelled"
            case .ended(.timedOut): "timed out"
            case .ended(.tickExpired): "skipped an expired schedule tick"
            case .ended(.tickFailed): "could not start a scheduled run"
            case .runningLong: "is running long"
            }
        return "Pipeline \(pipeline) (project \(project)) \(what)"
    }

    /// The title, the reason, the run and its execution date, one per line.
    public var text: String {
        var lines = [title]
        if let reason { lines.append(reason) }
        if let run { lines.append("run \(run)") }
        if let executionDate { lines.append("execution date \(executionDate.formatted(.iso8601))") }
        return lines.joined(separator: "\n")
    }

    /// The body of a webhook request in `format`, as JSON.
    public func body(_ format: WebhookFormat) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        switch format {
        case .json: return try encoder.encode(self)
        case .slack: return try encoder.encode(["text": text])
        case .wecom:
            struct WeCom: Encodable {
                let msgtype = "text"
                let text: [String: String]
            }
            return try encoder.encode(WeCom(text: ["content": text]))
        case .dingtalk:
            struct DingTalk: Encodable {
                let msgtype = "markdown"
                let markdown: [String: String]
            }
            let markdown = "### \(title)\n\n" + text.split(separator: "\n").dropFirst().map { "- \($0)" }.joined(separator: "\n")
            return try encoder.encode(DingTalk(markdown: ["title": title, "text": markdown]))
        }
    }

    enum CodingKeys: String, CodingKey { case id, kind, project, pipeline, run, executionDate, state, reason, occurredAt, text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try container.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindText) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown alert kind \"\(kindText)\"")
        }
        self.kind = kind
        id = try container.decode(String.self, forKey: .id)
        project = try container.decode(String.self, forKey: .project)
        pipeline = try container.decode(String.self, forKey: .pipeline)
        run = try container.decodeIfPresent(String.self, forKey: .run)
        executionDate = try container.decodeIfPresent(Date.self, forKey: .executionDate)
        state = try container.decodeIfPresent(String.self, forKey: .state)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        occurredAt = try container.decode(Date.self, forKey: .occurredAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind.rawValue, forKey: .kind)
        try container.encode(project, forKey: .project)
        try container.encode(pipeline, forKey: .pipeline)
        try container.encodeIfPresent(run, forKey: .run)
        try container.encodeIfPresent(executionDate, forKey: .executionDate)
        try container.encodeIfPresent(state, forKey: .state)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encode(text, forKey: .text)
    }
}
