import Foundation
import Testing
import TrellisTestSupport

/// Directory logins against a real slapd (scripts/with-ldap.sh, started by `make test`): search as the service
/// account, bind as the user, provisioning, groups mapped to admin and project roles, and the ways a login must fail.
@Suite struct LDAPLoginTests {
    static let variable = "TRELLIS_TEST_LDAP_URL"

    struct MissingLDAP: Error, CustomStringConvertible {
        var description: String { "\(LDAPLoginTests.variable) is not set: run the tests with `make test`, which starts a private slapd" }
    }

    static func settings(provision: String = "create", url: String? = nil) throws -> [String: String] {
        guard let directory = url ?? ProcessInfo.processInfo.environment[variable] else { throw MissingLDAP() }
        return [
            "ldap.url": directory, "ldap.bind.dn": "cn=reader,dc=example,dc=org", "ldap.bind.password": "reader-pw",
            "ldap.base.dn": "ou=people,dc=example,dc=org", "ldap.group.base": "ou=groups,dc=example,dc=org",
            "ldap.admin.groups": "trellis-admins", "ldap.project.roles": "ml-developers=ml:developer, ml-viewers=ml:viewer",
            "ldap.provision": provision,
        ]
    }

    static func login(_ api: some APITransport, _ username: String, _ password: String) async throws -> APIResponse {
        try await api.call("POST", "/api/v1/auth/login", json: ["username": username, "password": password])
    }

    @Test(arguments: DatabaseKind.allCases)
    func directoryUsersLogInAndGetTheirGroupsRoles(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind, flags: try Self.settings()) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "ml"]).status == 201)

            // The first login provisions the user, with what the directory says of them.
            let alice = try await Self.login(api, "alice", "alice-pw")
            #expect(alice.status == 200, "\(alice.text)")
            let user = alice.json["user"] as? [String: Any] ?? [:]
            #expect(user["source"] as? String == "ldap")
            #expect(user["displayName"] as? String == "Alice Example")
            #expect(user["email"] as? String == "alice@example.org")
            #expect(user["isAdmin"] as? Bool == false)
            let token = try #require(alice.json["token"] as? String)
            let me = try await api.call("GET", "/api/v1/me", token: token)
            #expect((me.json["projects"] as? [[String: Any]])?.map { "\($0["name"]!):\($0["role"]!)" } == ["ml:developer"])
            // Again: the same user, not a second one.
            #expect(try await Self.login(api, "alice", "alice-pw").status == 200)
            let users = try await api.call("GET", "/api/v1/users", token: admin)
            #expect((users.json["users"] as? [[String: Any]])?.count { $0["username"] as? String == "alice" } == 1)

            // Group → platform admin, group → viewer.
            let bob = try await Self.login(api, "bob", "bob-pw")
            #expect((bob.json["user"] as? [String: Any])?["isAdmin"] as? Bool == true)
            let carol = try #require(try await Self.login(api, "carol", "carol-pw").json["token"] as? String)
            let carolMe = try await api.call("GET", "/api/v1/me", token: carol)
            #expect((carolMe.json["projects"] as? [[String: Any]])?.first?["role"] as? String == "viewer")

            // Local accounts keep working.
            #expect(try await Self.login(api, "admin", EmbeddedHarness.adminPassword).status == 200)
        }
    }

    /// Changes the test directory as its admin (ldapmodify with the LDIF on stdin); bounded to a minute.
    static func modifyDirectory(_ ldif: String) throws {
        guard let url = ProcessInfo.processInfo.environment[variable] else { throw MissingLDAP() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldapmodify")
        process.arguments = ["-x", "-H", url, "-D", "cn=admin,dc=example,dc=org", "-w", "admin-pw"]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(ldif.utf8))
        try input.fileHandleForWriting.close()
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { process.terminate() } }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TransportError("ldapmodify exited with \(process.terminationStatus):\n\(ldif)") }
    }

    /// A refresh asks the directory again: a user whose groups changed gets the new admin flag, a user removed from the
    /// directory gets no fresh token.
    @Test func directoryUsersAreLookedUpAgainOnRefresh() async throws {
        let name = "dave\(UUID().uuidString.prefix(6).lowercased())"
        let dn = "uid=\(name),ou=people,dc=example,dc=org"
        try Self.modifyDirectory(
            """
            dn: \(dn)
            changetype: add
            objectClass: inetOrgPerson
            uid: \(name)
            cn: Dave Example
            sn: Example
            userPassword: dave-pw

            """)
        try await EmbeddedHarness.with(.sqlite, flags: try Self.settings()) { api, _ in
            let login = try await Self.login(api, name, "dave-pw")
            #expect(login.status == 200 && (login.json["user"] as? [String: Any])?["isAdmin"] as? Bool == false, "\(login.text)")
            var token = try #require(login.json["token"] as? String)
            let group = "cn=trellis-admins,ou=groups,dc=example,dc=org"
            try Self.modifyDirectory("dn: \(group)\nchangetype: modify\nadd: member\nmember: \(dn)\n\n")
            let promoted = try await api.call("POST", "/api/v1/auth/refresh", token: token)
            try? Self.modifyDirectory("dn: \(group)\nchangetype: modify\ndelete: member\nmember: \(dn)\n\n")
            #expect((promoted.json["user"] as? [String: Any])?["isAdmin"] as? Bool == true, "\(promoted.text)")
            token = try #require(promoted.json["token"] as? String)
            try Self.modifyDirectory("dn: \(dn)\nchangetype: delete\n\n")
            let gone = try await api.call("POST", "/api/v1/auth/refresh", token: token)
            #expect(gone.status == 401 && gone.text.contains("no longer in the directory"), "\(gone.text)")
        }
    }

    @Test func badLoginsFail() async throws {
        try await EmbeddedHarness.with(.sqlite, flags: try Self.settings()) { api, _ in
            // Wrong password, unknown user.
            let wrong = try await Self.login(api, "alice", "not-her-password")
            #expect(wrong.status == 401 && wrong.text.contains("invalid username or password"))
            #expect(try await Self.login(api, "mallory", "alice-pw").status == 401)
            // An empty password never reaches a bind: this directory accepts unauthenticated binds, so passing it on
            // would log in as alice.
            #expect(try await Self.login(api, "alice", "").status == 401)
            // Filter injection: the login name is escaped, so these match no entry (unescaped, `ali*` finds alice and her
            // password would log in a user named "ali*").
            #expect(try await Self.login(api, "ali*", "alice-pw").status == 401)
            #expect(try await Self.login(api, "*)(uid=*", "alice-pw").status == 401)
            #expect(try await Self.login(api, "*", "alice-pw").status == 401)
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let users = try await api.call("GET", "/api/v1/users", token: admin)
            #expect((users.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } == ["admin"])
        }
    }

    @Test func withProvisioningDeniedOnlyUsersAnAdminCreatedLogIn() async throws {
        try await EmbeddedHarness.with(.sqlite, flags: try Self.settings(provision: "deny")) { api, _ in
            let refused = try await Self.login(api, "alice", "alice-pw")
            #expect(refused.status == 403 && refused.text.contains("no Trellis account"), "\(refused.text)")
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let created = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": "alice", "source": "ldap"])
            #expect(created.status == 201, "\(created.text)")
            let withPassword = try await api.call(
                "POST", "/api/v1/users", token: admin, json: ["username": "bob", "source": "ldap", "password": "whatever-pw"])
            #expect(withPassword.status == 400 && withPassword.text.contains("password"))
            #expect(try await Self.login(api, "alice", "alice-pw").status == 200)
            #expect(try await Self.login(api, "alice", "wrong-pw").status == 401)
        }
    }

    @Test func tlsConnectionsCheckTheDirectorysCertificate() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let ldaps = environment["TRELLIS_TEST_LDAPS_URL"], let ca = environment["TRELLIS_TEST_LDAP_CA"] else { throw MissingLDAP() }
        // StartTLS on ldap://, and ldaps://, trusting the CA that signed the directory's certificate.
        let trusted = [
            try Self.settings().merging(["ldap.starttls": "true", "ldap.ca.file": ca]) { $1 },
            try Self.settings(url: ldaps).merging(["ldap.ca.file": ca]) { $1 },
        ]
        for flags in trusted {
            try await EmbeddedHarness.with(.sqlite, flags: flags) { api, _ in
                let alice = try await Self.login(api, "alice", "alice-pw")
                #expect(alice.status == 200, "\(flags["ldap.url"]!): \(alice.text)")
                #expect(try await Self.login(api, "alice", "wrong-pw").status == 401)
            }
        }
        // The system's CAs do not know it: no login, and the answer says the directory could not be reached.
        try await EmbeddedHarness.with(.sqlite, flags: try Self.settings(url: ldaps)) { api, _ in
            let refused = try await Self.login(api, "alice", "alice-pw")
            #expect(refused.status == 503 && refused.text.contains("directory"), "\(refused.text)")
        }
    }

    @Test func anUnreachableDirectoryIsA503NotAWrongPassword() async throws {
        try await EmbeddedHarness.with(.sqlite, flags: try Self.settings(url: "ldap://127.0.0.1:1")) { api, _ in
            let response = try await Self.login(api, "alice", "alice-pw")
            #expect(response.status == 503 && response.text.contains("directory"), "\(response.text)")
            #expect(try await Self.login(api, "admin", EmbeddedHarness.adminPassword).status == 200)
        }
    }
}
