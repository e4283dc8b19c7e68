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

    /// The identity service's reads check a token's revocation in the statement that reads (or, when they find no
    /// row, read nothing or fail, right after): a token logged out or of a disabled account is refused on each, and a
    /// read that fails says nothing to it (401, not whether a project exists).
    @Test(arguments: DatabaseKind.allCases)
    func aRevokedTokenIsRefusedOnEveryReadOfTheIdentityService(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "vault"]).status == 201)
            for user in ["olga", "pavel"] {
                let created = try await api.call(
                    "POST", "/api/v1/users", token: admin, json: ["username": user, "password": "\(user)-password"])
                #expect(created.status == 201, "\(created.text)")
            }
            let reads = [
                "/api/v1/projects", "/api/v1/me", "/api/v1/users", "/api/v1/projects/vault", "/api/v1/projects/vault/members",
                "/api/v1/projects/nowhere", "/api/v1/tokens",
            ]
            let session = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try await api.login("olga", "olga-password")  // a member of nothing: her project list is empty
            let pavel = try await api.login("pavel", "pavel-password")
            for token in [session, olga, pavel] {
                for path in reads {
                    #expect(try await api.call("GET", path, token: token).status != 401, "\(path)")
                }
            }
            #expect(try await api.call("POST", "/api/v1/auth/logout", token: session).status == 204)
            #expect(try await api.call("POST", "/api/v1/auth/logout", token: olga).status == 204)
            #expect(try await api.call("PATCH", "/api/v1/users/pavel", token: admin, json: ["disabled": true]).status == 200)
            for (name, token) in [("the admin's", session), ("olga's", olga), ("pavel's", pavel)] {
                for path in reads {
                    let refused = try await api.call("GET", path, token: token)
                    #expect(refused.status == 401 && refused.text.contains("revoked"), "\(name) token on \(path): \(refused.text)")
                }
            }
            // The other session of the admin still reads.
            #expect(try await api.call("GET", "/api/v1/projects", token: admin).status == 200)
            #expect(try await api.call("GET", "/api/v1/users", token: admin).status == 200)
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

    /// Failures count per user name *and* address: five wrong passwords from one address do not lock the right one out
    /// from another. The address is the client's that the gateway vouches for with the service token; a client
    /// naming an address itself is not believed. User names count as the directory compares them.
    @Test func failedLoginsAreThrottledPerUserAndAddress() async throws {
        let clock = TestClock()
        let voucher = try await EmbeddedHarness.serviceToken()
        try await IdentityHarness.with(.sqlite, now: { clock.now }) { api, _ in
            let admin = try await api.login("admin", IdentityHarness.adminPassword)
            _ = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": "olga", "password": "olga-password"])
            func login(_ name: String, _ password: String, from address: String, voucher: String?) async throws -> Int {
                var headers = ["Content-Type": "application/json", "X-Trellis-Client-Address": address]
                headers["X-Trellis-Forwarded-By"] = voucher
                let body = try JSONSerialization.data(withJSONObject: ["username": name, "password": password])
                return try await api.send("POST", "/api/v1/auth/login", headers: headers, body: body).status
            }
            // Five failures from 10.0.0.1, two of them as the name written otherwise.
            for name in ["olga", "olga", " Olga", "OLGA ", "olga"] {
                #expect(try await login(name, "guess", from: "10.0.0.1", voucher: voucher) == 401)
            }
            #expect(try await login("olga", "olga-password", from: "10.0.0.1", voucher: voucher) == 429)
            #expect(try await login(" OLGA", "olga-password", from: "10.0.0.1", voucher: voucher) == 429)
            #expect(try await login("olga", "olga-password", from: "10.0.0.2", voucher: voucher) == 200)
            // A claimed address without the gateway's voucher is the peer's: its failures do not land on 10.0.0.7.
            for _ in 0..<5 { #expect(try await login("olga", "guess", from: "10.0.0.7", voucher: "forged") == 401) }
            #expect(try await login("olga", "olga-password", from: "10.0.0.7", voucher: voucher) == 200)
        }
    }

    /// Each refresh revokes a token every service follows: at most 20 a minute per user.
    @Test func refreshesAreThrottledPerUser() async throws {
        let clock = TestClock()
        try await IdentityHarness.with(.sqlite, now: { clock.now }) { api, _ in
            var token = try await api.login("admin", IdentityHarness.adminPassword)
            for _ in 0..<20 {
                let refreshed = try await api.call("POST", "/api/v1/auth/refresh", token: token)
                token = try #require(refreshed.json["token"] as? String, "\(refreshed.text)")
            }
            let refused = try await api.call("POST", "/api/v1/auth/refresh", token: token)
            #expect(refused.status == 429 && refused.text.contains("too many refreshes"), "\(refused.text)")
            // Refused, the token stays good; a minute later refreshing works again.
            #expect(try await api.call("GET", "/api/v1/me", token: token).status == 200)
            clock.advance(61)
            #expect(try await api.call("POST", "/api/v1/auth/refresh", token: token).status == 200)
        }
    }

    /// Services follow revocations by revision: `?after=` answers only what was revoked since.
    @Test(arguments: DatabaseKind.allCases)
    func revocationsAreFollowedIncrementally(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, _ in
            let first = try await api.login("admin", EmbeddedHarness.adminPassword)
            let second = try await api.login("admin", EmbeddedHarness.adminPassword)
            let start = try #require(try await api.call("GET", "/api/v1/auth/revocations").json["revision"] as? Int)
            #expect(try await api.call("POST", "/api/v1/auth/logout", token: first).status == 204)
            #expect(try await api.call("POST", "/api/v1/auth/logout", token: second).status == 204)
            let all = try await api.call("GET", "/api/v1/auth/revocations?after=\(start)").json
            #expect(all["revision"] as? Int == start + 2)
            #expect((all["revoked"] as? [[String: Any]])?.count == 2 && (all["tokens"] as? [String])?.count == 2, "\(all)")
            let newer = try await api.call("GET", "/api/v1/auth/revocations?after=\(start + 1)").json
            #expect((newer["tokens"] as? [String])?.count == 1)
            #expect((try await api.call("GET", "/api/v1/auth/revocations?after=\(start + 2)").json["tokens"] as? [String])?.isEmpty == true)
            let bad = try await api.call("GET", "/api/v1/auth/revocations?after=yesterday")
            #expect(bad.status == 400 && bad.errorMessage?.contains("after") == true, "\(bad.text)")
        }
    }

    /// An admin disables a user: their session and API token stop working in every service at once, they cannot log
    /// in; enabled again, only a new login works. A demoted admin's tokens lose admin at once. A deleted user's tokens
    /// die with them, and a new user of the same name inherits nothing. No admin can do any of it to themselves.
    @Test(arguments: DatabaseKind.allCases)
    func disabledDemotedAndDeletedUsersLoseTheirSessionsAtOnce(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            for (name, isAdmin) in [("dora", false), ("adam", true)] {
                let made = try await api.call(
                    "POST", "/api/v1/users", token: admin, json: ["username": name, "password": "\(name)-password", "isAdmin": isAdmin])
                try #require(made.status == 201, "\(made.text)")
            }
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "kept"]).status == 201)
            let member = ["username": "dora", "role": "developer"]
            #expect(try await api.call("POST", "/api/v1/projects/kept/members", token: admin, json: member).status == 201)
            let session = try await api.login("dora", "dora-password")
            let apiToken = try #require(
                try await api.call("POST", "/api/v1/tokens", token: session, json: ["name": "ci"]).json["token"] as? String)
            for token in [session, apiToken] {
                #expect(try await api.call("GET", "/api/v1/projects/kept", token: token).status == 200)
                #expect(try await api.call("GET", "/api/v1/templates", token: token).status == 200)
            }

            let disabled = try await api.call("PATCH", "/api/v1/users/dora", token: admin, json: ["disabled": true])
            #expect(disabled.status == 200 && disabled.json["disabled"] as? Bool == true, "\(disabled.text)")
            for token in [session, apiToken] {
                // Identity and another service (templates) alike.
                #expect(try await api.call("GET", "/api/v1/projects/kept", token: token).status == 401)
                #expect(try await api.call("GET", "/api/v1/templates", token: token).status == 401)
            }
            let refused = try await api.call("POST", "/api/v1/auth/login", json: ["username": "dora", "password": "dora-password"])
            #expect(refused.status == 401 && refused.text.contains("disabled"), "\(refused.text)")
            #expect(try await api.call("PATCH", "/api/v1/users/dora", token: admin, json: ["disabled": false]).status == 200)
            #expect(try await api.call("GET", "/api/v1/projects/kept", token: session).status == 401)
            let again = try await api.login("dora", "dora-password")
            #expect(try await api.call("GET", "/api/v1/projects/kept", token: again).status == 200)

            let adam = try await api.login("adam", "adam-password")
            #expect(try await api.call("GET", "/api/v1/users", token: adam).status == 200)
            #expect(try await api.call("PATCH", "/api/v1/users/adam", token: admin, json: ["isAdmin": false]).status == 200)
            #expect(try await api.call("GET", "/api/v1/users", token: adam).status == 401)
            #expect(try await api.call("GET", "/api/v1/users", token: try await api.login("adam", "adam-password")).status == 403)

            #expect(try await api.call("DELETE", "/api/v1/users/dora", token: admin).status == 204)
            #expect(try await api.call("GET", "/api/v1/me", token: again).status == 401)
            #expect(try await api.call("DELETE", "/api/v1/users/dora", token: admin).status == 404)
            let reborn = try await api.call(
                "POST", "/api/v1/users", token: admin, json: ["username": "dora", "password": "new-dora-password"])
            #expect(reborn.status == 201)
            let newDora = try await api.login("dora", "new-dora-password")
            #expect(try await api.call("GET", "/api/v1/projects/kept", token: newDora).status == 404)
            #expect((try await api.call("GET", "/api/v1/projects", token: newDora).json["projects"] as? [[String: Any]])?.isEmpty == true)

            let selfLock = try await api.call("PATCH", "/api/v1/users/admin", token: admin, json: ["disabled": true])
            #expect(selfLock.status >= 400 && selfLock.text.contains("themselves"), "\(selfLock.text)")
            #expect(try await api.call("DELETE", "/api/v1/users/admin", token: admin).status >= 400)
            #expect(try await api.call("GET", "/api/v1/me", token: admin).status == 200)
        }
    }
}
