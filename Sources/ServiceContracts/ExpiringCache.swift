/// Answers fetched from another service, each kept for `ttl` (what a service may be behind by); past `limit` keys it
/// forgets them all.
public actor ExpiringCache<Key: Hashable & Sendable, Value: Sendable> {
    let ttl: Duration
    let limit: Int
    private var entries: [Key: (value: Value, at: ContinuousClock.Instant)] = [:]

    public init(ttl: Duration, limit: Int = 10_000) {
        self.ttl = ttl
        self.limit = limit
    }

    public func value(for key: Key, fetch: @Sendable () async throws -> Value) async rethrows -> Value {
        if let entry = entries[key], ContinuousClock.now - entry.at < ttl { return entry.value }
        let value = try await fetch()
        if entries.count >= limit { entries.removeAll() }
        entries[key] = (value, .now)
        return value
    }
}
