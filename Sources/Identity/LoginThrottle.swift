import Foundation

/// Events per key within a sliding window, at most `limit`: how long to wait before the next one is allowed.
/// Kept in memory per identity process, bounded (keys whose events all left the window are forgotten).
actor RateLimit {
    let limit: Int
    let window: TimeInterval
    private var events: [String: [Date]] = [:]

    init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    /// Seconds to wait before the next event of `key`, or nil when one may happen now.
    func wait(key: String, now: Date) -> Int? {
        let recent = prune(key, now: now)
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int(oldest.addingTimeInterval(window).timeIntervalSince(now).rounded(.up)))
    }

    func count(key: String, now: Date) {
        events[key, default: []].append(now)
        if events.count > 10_000 { events = events.filter { $0.value.last.map { now.timeIntervalSince($0) < window } ?? false } }
    }

    func clear(key: String) {
        events[key] = nil
    }

    private func prune(_ key: String, now: Date) -> [Date] {
        let recent = (events[key] ?? []).filter { now.timeIntervalSince($0) < window }
        events[key] = recent.isEmpty ? nil : recent
        return recent
    }
}

/// Slows password guessing: after `perUser` failed logins for one user name from one address within `window`, or
/// `perAddress` from one address for any names, further attempts from there are refused (429) until the oldest failure
/// leaves the window; a success clears that user's failures from that address. A user name is counted as the
/// directory compares it (trimmed, case-insensitive), so " Alice" is not a fresh name. Failures from another address
/// do not lock the right password out (per user *and* address); in split mode the address is the client's, which the
/// gateway passes on (``ClientAddressMiddleware``). Its counts live in the two ``RateLimit``s.
struct LoginThrottle: Sendable {
    let perUser: RateLimit
    let perAddress: RateLimit

    init(perUser: Int = 5, perAddress: Int = 50, window: TimeInterval = 900) {
        self.perUser = RateLimit(limit: perUser, window: window)
        self.perAddress = RateLimit(limit: perAddress, window: window)
    }

    /// Seconds to wait before trying again, or nil when a login may be tried now.
    func wait(username: String, address: String?, now: Date) async -> Int? {
        var waits = [await perUser.wait(key: Self.key(user: username, address: address), now: now)]
        if let address { waits.append(await perAddress.wait(key: Self.key(address: address), now: now)) }
        return waits.compactMap { $0 }.max()
    }

    func failed(username: String, address: String?, now: Date) async {
        await perUser.count(key: Self.key(user: username, address: address), now: now)
        if let address { await perAddress.count(key: Self.key(address: address), now: now) }
    }

    func succeeded(username: String, address: String?) async {
        await perUser.clear(key: Self.key(user: username, address: address))
    }

    /// A user name as the directory compares it.
    static func normalized(_ username: String) -> String { username.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }

    static func key(user: String, address: String? = nil) -> String { "user:" + normalized(user) + "@" + (address ?? "") }
    static func key(address: String) -> String { "address:" + address }
}
