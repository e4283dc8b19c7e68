import Foundation

/// Slows password guessing: after `perUser` failed logins for one user name within `window`, or `perAddress` from one
/// address, further attempts are refused (429) until the oldest failure leaves the window; a success clears the user
/// name's failures. Kept in memory per identity process (split mode: the gateway's address is the peer's).
actor LoginThrottle {
    let perUser: Int
    let perAddress: Int
    let window: TimeInterval
    private var failures: [String: [Date]] = [:]

    init(perUser: Int = 5, perAddress: Int = 50, window: TimeInterval = 900) {
        self.perUser = perUser
        self.perAddress = perAddress
        self.window = window
    }

    /// Seconds to wait before trying again, or nil when a login may be tried now.
    func wait(username: String, address: String?, now: Date) -> Int? {
        var limits = [(Self.key(user: username), perUser)]
        if let address { limits.append((Self.key(address: address), perAddress)) }
        var longest: Int?
        for (key, limit) in limits {
            let recent = prune(key, now: now)
            guard recent.count >= limit, let oldest = recent.first else { continue }
            let wait = max(1, Int(oldest.addingTimeInterval(window).timeIntervalSince(now).rounded(.up)))
            longest = max(longest ?? 0, wait)
        }
        return longest
    }

    func failed(username: String, address: String?, now: Date) {
        for key in [Self.key(user: username), address.map(Self.key(address:))].compactMap({ $0 }) {
            failures[key, default: []].append(now)
        }
        // Bounded: forget keys whose failures all left the window.
        if failures.count > 10_000 { failures = failures.filter { $0.value.last.map { now.timeIntervalSince($0) < window } ?? false } }
    }

    func succeeded(username: String) {
        failures[Self.key(user: username)] = nil
    }

    private func prune(_ key: String, now: Date) -> [Date] {
        let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[key] = recent.isEmpty ? nil : recent
        return recent
    }

    static func key(user: String) -> String { "user:" + user.lowercased() }
    static func key(address: String) -> String { "address:" + address }
}
