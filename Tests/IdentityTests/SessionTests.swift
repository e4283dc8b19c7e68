import Foundation
import Synchronization
import Testing
import TrellisTestSupport

/// Sessions: logout and refresh revoke tokens everywhere; failed logins are throttled.
@Suite struct SessionTests {
    /// A clock the test moves.
    final class TestClock: Sendable {
        private let current = Mutex(Date())
        var now: Date { current.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    @Test(arguments: DatabaseKind.allCases)
    func logoutRevokesTheTokenInEveryService(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, _ in
            let token = try await api.login("admin", EmbeddedHarness.adminPassword)
            #expect(try await api.call("GET", "/api/v1/me", token: token).status == 200)
            #expect(try await api.call("GET", "/api/v1/templates", token: token).status == 200)
            #expect(try await api.call("POST", "/api/v1/auth/logout", token: token).status == 204)
            // Identity and the other services (templates here) refuse it.
            let me = try await api.call("GET", "/api/v1/me", token: token)
            #expect(me.status == 401 && me.text.contains("revoked"), "\(me.text)")
            #expect(try await api.call("GET", "/api/v1/templates", token: token).status == 401)
            #expect(try await api.call("POST", "/api/v1/auth/logout", token: token).status == 401)
            #expect((try await api.call("GET", "/api/v1/auth/revocations").json["tokens"] as? [String])?.count == 1)
            // A new login is a new session.
            let again = try await api.login("admin", EmbeddedHarness.adminPassword)
            #expect(try await api.call("GET", "/api/v1/me", token: again).status == 200)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func refreshGivesAFreshTokenAndRevokesTheOld(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, _ in
            let old = try await api.login("admin", EmbeddedHarness.adminPassword)
            let refreshed = try await api.call("POST", "/api/v1/auth/refresh", token: old)
            #expect(refreshed.status == 200)
            let new = try #require(refreshed.json["token"] as? String)
            #expect(new != old)
            #expect(try await api.call("GET", "/api/v1/me", token: new).status == 200)
            #expect(try await api.call("GET", "/api/v1/me", token: old).status == 401)
            #expect(try await api.call("POST", "/api/v1/auth/refresh", token: old).status == 401)
        }
    }

    @Test func failedLoginsAreThrottledPerUserName() async throws {
        let clock = TestClock()
        try await IdentityHarness.with(.sqlite, now: { clock.now }) { api, _ in
            let admin = try await api.login("admin", IdentityHarness.adminPassword)
            for user in ["olga", "pavel"] {
                _ = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": user, "password": "\(user)-password"])
            }
            for _ in 0..<5 {
                #expect(try await api.call("POST", "/api/v1/auth/login", json: ["username": "olga", "password": "guess"]).status == 401)
            }
            // The sixth attempt is refused, even with the right password, saying how long to wait.
            let refused = try await api.call("POST", "/api/v1/auth/login", json: ["username": "olga", "password": "olga-password"])
            #expect(refused.status == 429, "\(refused.text)")
            #expect(refused.text.contains("too many failed logins for \\\"olga\\\"; try again in 900 s"), "\(refused.text)")
            // Other users are not held back.
            #expect(
                try await api.call("POST", "/api/v1/auth/login", json: ["username": "pavel", "password": "pavel-password"]).status == 200)
            // Once the failures leave the 15-minute window, the right password works again, and clears the count.
            clock.advance(901)
            #expect(
                try await api.call("POST", "/api/v1/auth/login", json: ["username": "olga", "password": "olga-password"]).status == 200)
            #expect(try await api.call("POST", "/api/v1/auth/login", json: ["username": "olga", "password": "guess"]).status == 401)
            #expect(
                try await api.call("POST", "/api/v1/auth/login", json: ["username": "olga", "password": "olga-password"]).status == 200)
        }
    }
}
