import Synchronization

/// Where services other than the orchestrator ask the cluster gateway about clusters (whether one is registered,
/// granted, what its policy allows). In split mode it is the HTTP client from the start; in embedded mode the gateway
/// is built after them and bound here afterwards (``bind(_:)``).
public final class ClusterDirectory: Sendable {
    private let executor: Mutex<(any ExecutorClient)?>

    public init(_ executor: (any ExecutorClient)?) {
        self.executor = Mutex(executor)
    }

    public func bind(_ executor: any ExecutorClient) {
        self.executor.withLock { $0 = executor }
    }

    /// The cluster gateway, when one is known.
    public var gateway: (any ExecutorClient)? { executor.withLock { $0 } }
}
