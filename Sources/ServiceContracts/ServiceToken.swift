/// The bearer token services use between themselves for calls made on nobody's behalf (the orchestrator running
/// attempts on the cluster gateway). Derived from the shared secrets key, so every service of one deployment knows
/// it and nothing else does; the gateway never forwards the internal routes it guards.
public struct ServiceToken: Sendable {
    public let value: String

    public init(value: String) {
        self.value = value
    }
}
