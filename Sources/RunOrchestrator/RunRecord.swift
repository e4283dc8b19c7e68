import Foundation
import TrellisCore

/// A run as stored: the row, its tasks and every attempt. The engine changes a copy and the repository writes
/// back what differs, in one transaction.
struct RunRecord: Sendable, Equatable {
    var id: String
    var project: String
    var pipeline: String
    var pipelineVersion: Int
    var trigger: RunTrigger
    var state: RunState
    var reason: String?
    var plan: RunPlan
    var debug: Bool
    /// Unix milliseconds, as every time here.
    var executionDate: Int64
    var startedBy: String
    /// The Kubernetes cluster the run goes to as an Argo Workflow; nil for local processes.
    var cluster: String? = nil
    var createdAt: Int64
    var startedAt: Int64?
    var finishedAt: Int64?
    var deadlineAt: Int64?
    /// The state the run ends in once its running attempts stopped; nil while it is not being stopped.
    var stopping: RunState?
    var tasks: [String: TaskRecord]
    var attempts: [AttemptRecord]

    func attempts(of task: String) -> [AttemptRecord] { attempts.filter { $0.task == task } }

    var runningAttempts: [AttemptRecord] { attempts.filter { $0.state == .running } }

    func attemptIndex(execution id: String) -> Int? { attempts.firstIndex { $0.executionID == id } }
}

struct TaskRecord: Sendable, Equatable {
    var name: String
    var state: TaskState
    /// Attempts over every round.
    var attempts: Int
    /// The number of the first attempt of the current round (a resume starts a new round with a fresh retry budget).
    var roundStart: Int
    var notBefore: Int64?
}

struct AttemptRecord: Sendable, Equatable {
    var task: String
    var number: Int
    var executionID: String
    var state: TaskState
    var exitCode: Int?
    var reason: String?
    var createdAt: Int64
    var startedAt: Int64?
    var finishedAt: Int64?
    /// When the next attempt is due, for an attempt that failed and is retried: its end plus the retry's backoff.
    var retryAt: Int64?
    /// The ``Invocation`` as JSON: written once, decoded only to be shown.
    var invocation: String
    /// Where the processes ran, when it was kept (debug runs).
    var workingDirectory: String?
}

/// Exactly what an attempt ran: shown with the attempt (single-task debug shows it first).
struct Invocation: Codable, Sendable, Equatable {
    var command: [String]
    var environment: [String: String]
    var image: String
    var replicas: Int
    var workingDirectory: String?

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
