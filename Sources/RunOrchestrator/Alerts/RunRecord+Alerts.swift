import Foundation
import TrellisCore
import TrellisStore

extension RunRecord {
    /// The alert event of this run's end, when it has ended; nil for runs from the editor (single-task and debug runs).
    var endEvent: AlertEvent? {
        guard state.isFinished, !debug, trigger != .single else { return nil }
        let finished = finishedAt ?? Date().milliseconds
        let trigger: AlertTrigger =
            switch state {
            case .succeeded: .succeeded
            case .cancelled: .cancelled
            default: tasks.values.contains { $0.state == .timedOut } ? .timedOut : .failed
            }
        return AlertEvent(
            id: AlertEvent.endID(run: id, finishedAt: finished), kind: .ended(trigger), project: project, pipeline: pipeline, run: id,
            executionDate: .fromMilliseconds(executionDate), state: state.rawValue, reason: reason, occurredAt: .fromMilliseconds(finished))
    }
}
