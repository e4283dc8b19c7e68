import ServiceLifecycle
import Synchronization
import Testing

/// What a test is doing, step by step (waiting for connections to the test PostgreSQL, starting the platform, a request
/// and its path), so that a test still running long after it should have ended says where it is, instead of a suite
/// that goes quiet until the phase's bound ends it.
public final class Trail: Sendable {
    /// The running test's trail, under ``watching(every:report:_:)``.
    @TaskLocal public static var current: Trail?

    private struct Step {
        let name: String
        let started: ContinuousClock.Instant
    }

    private struct State {
        var next = 0
        var open: [Int: Step] = [:]
        var lastEnded: (name: String, at: ContinuousClock.Instant)?
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now

    /// Runs `body` as a step named `name` of the running test's trail (outside any, just runs it).
    public nonisolated(nonsending) static func step<T>(
        _ name: @autoclosure () -> String, _ body: () async throws -> T
    ) async rethrows -> T {
        guard let trail = current else { return try await body() }
        let key = trail.begin(name())
        defer { trail.end(key) }
        return try await body()
    }

    /// Runs `body` with a trail; each `interval` it is still running, `report` is given the trail's description (by
    /// default the test records it as a warning). Inside another watch, `body` is on that one's trail.
    public nonisolated(nonsending) static func watching<T>(
        every interval: Duration = .seconds(300),
        report: @escaping @Sendable (String) -> Void = { Issue.record(Comment(rawValue: $0), severity: .warning) },
        _ body: () async throws -> T
    ) async rethrows -> T {
        guard current == nil else { return try await body() }
        let trail = Trail()
        // An unstructured task inherits the test (a task-local), so its warning is the test's.
        let watcher = Task {
            while true {
                try await Task.sleep(for: interval)
                report(trail.description)
            }
        }
        defer { watcher.cancel() }
        return try await $current.withValue(trail) { try await body() }
    }

    private func begin(_ name: String) -> Int {
        state.withLock { state in
            defer { state.next += 1 }
            state.open[state.next] = Step(name: name, started: .now)
            return state.next
        }
    }

    private func end(_ key: Int) {
        state.withLock { state in
            if let step = state.open.removeValue(forKey: key) { state.lastEnded = (step.name, .now) }
        }
    }

    /// "still running after 300 s; open: the embedded platform (299 s) › GET /api/v1/… (240 s); last ended: …".
    public var description: String {
        let now = ContinuousClock.now
        let seconds = { (instant: ContinuousClock.Instant) in "\((now - instant).components.seconds) s" }
        return state.withLock { state in
            let open = state.open.sorted { $0.key < $1.key }.map { "\($0.value.name) (\(seconds($0.value.started)))" }
            var text = "still running after \(seconds(started)); open: " + (open.isEmpty ? "none" : open.joined(separator: " › "))
            if let last = state.lastEnded { text += "; last ended: \(last.name), \(seconds(last.at)) ago" }
            return text
        }
    }
}

/// A service of the platform under test, on the test's trail while it runs: a platform that does not stop says which
/// of its services are still running.
struct TrailedService: Service, CustomStringConvertible {
    let base: any Service

    func run() async throws {
        try await Trail.step("the service \(description)") { try await base.run() }
    }

    var description: String { String(describing: type(of: base)) }
}
