import Foundation

/// Waits in tests that end: each names what it waits for and fails with that name when its deadline passes, so a
/// stuck test says what it was stuck on instead of hanging the suite.
public enum Waiting {
    /// Polls `condition` until it holds, failing after `limit` with "… waiting for `what`".
    public static func until(
        _ what: @autoclosure () -> String, limit: Duration = .seconds(60), every interval: Duration = .milliseconds(50),
        _ condition: () async throws -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        while try await !condition() {
            guard clock.now < deadline else { throw TransportError("gave up after \(limit) waiting for \(what())") }
            try await Task.sleep(for: interval)
        }
    }

    /// Until a file exists at `path`.
    public static func forFile(_ path: String, _ what: String, limit: Duration = .seconds(60)) async throws {
        try await until("\(what) (\(path))", limit: limit) { FileManager.default.fileExists(atPath: path) }
    }

    /// The value of `body`, or a failure naming `what` when it takes longer than `limit` (`body` is cancelled).
    public static func within<T: Sendable>(
        _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TransportError("gave up after \(limit) waiting for \(what)")
            }
            return value
        }
    }
}

/// A number of units shared by tests running at once (connections to the test PostgreSQL, room for one multi-process
/// deployment on 2 cores): a test takes what it needs and waits, in order, until that much is free.
public actor Slots {
    public let capacity: Int
    /// What a unit is, for a test's trail: "connections to the test PostgreSQL".
    public let units: String
    private var free: Int
    private var waiting: [(units: Int, continuation: CheckedContinuation<Void, Never>)] = []

    public init(_ capacity: Int, of units: String) {
        self.capacity = capacity
        self.units = units
        free = capacity
    }

    /// Runs `body` holding `units` (at most the capacity).
    public func holding<T: Sendable>(_ units: Int, _ body: @Sendable () async throws -> T) async rethrows -> T {
        let units = min(units, capacity)
        await Trail.step("waiting for \(units) of the \(capacity) \(self.units)") { await take(units) }
        do {
            let value = try await body()
            give(units)
            return value
        } catch {
            give(units)
            throw error
        }
    }

    private func take(_ units: Int) async {
        if waiting.isEmpty && free >= units {
            free -= units
            return
        }
        await withCheckedContinuation { waiting.append((units, $0)) }
    }

    private func give(_ units: Int) {
        free += units
        while let next = waiting.first, free >= next.units {
            waiting.removeFirst()
            free -= next.units
            next.continuation.resume()
        }
    }
}
