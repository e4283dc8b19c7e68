import Testing
import TrellisCore

/// RFC 4515 escaping of the values put into LDAP filters.
@Suite struct LDAPFilterTests {
    @Test(arguments: [
        ("alice", "alice"),
        ("ali*", "ali\\2a"),
        ("*)(uid=*", "\\2a\\29\\28uid=\\2a"),
        ("a\\b", "a\\5cb"),
        ("nul\u{0}", "nul\\00"),
        ("Jörg", "Jörg"),
    ])
    func escapesTheSpecialCharacters(_ value: String, _ escaped: String) {
        #expect(LDAPFilter.escape(value) == escaped)
    }

    @Test func rendersPlaceholdersInOnePass() {
        #expect(LDAPFilter.render("(uid={username})", ["username": "a*"]) == "(uid=a\\2a)")
        // A value that looks like a placeholder stays a value.
        #expect(
            LDAPFilter.render("(&(member={dn})(x={username}))", ["dn": "uid={username},dc=x", "username": "bob"])
                == "(&(member=uid={username},dc=x)(x=bob))")
        #expect(LDAPFilter.render("(cn={unknown})", [:]) == "(cn={unknown})")
    }
}
