import Testing
import TrellisCore

@Suite struct NamesTests {
    @Test(arguments: ["ml-team", "a", "team2", String(repeating: "a", count: 63)])
    func acceptsDNSLabelProjectNames(_ name: String) throws {
        try Names.validateResourceName(name, field: "name")
    }

    @Test(arguments: [
        ("", "must not be empty"), ("ML", "must start with a lowercase letter"), ("2team", "must start with a lowercase letter"),
        ("team_a", "may contain only"), ("team-", "must not end with"), (String(repeating: "a", count: 64), "at most 63"),
    ])
    func rejectsBadProjectNamesNamingTheField(_ name: String, _ expected: String) {
        #expect {
            try Names.validateResourceName(name, field: "metadata.name")
        } throws: { error in
            let error = error as! ValidationError
            return error.field == "metadata.name" && error.message.contains(expected)
        }
    }

    @Test func usernamesAllowLDAPStyleUids() throws {
        try Names.validateUsername("alice.smith_2")
        #expect(throws: ValidationError.self) { try Names.validateUsername(".alice") }
        #expect(throws: ValidationError.self) { try Names.validateUsername("al ice") }
    }

    @Test func passwordsNeedEightCharactersAndFitBcrypt() throws {
        try Names.validatePassword("12345678")
        #expect(throws: ValidationError(field: "password", "must be at least 8 characters")) { try Names.validatePassword("short") }
        #expect(throws: ValidationError.self) { try Names.validatePassword(String(repeating: "x", count: 73)) }
    }
}

@Suite struct ProjectRoleTests {
    @Test func rolesAreOrderedViewerDeveloperOwner() {
        #expect(ProjectRole.viewer < .developer)
        #expect(ProjectRole.developer < .owner)
        #expect(ProjectRole.allCases.max() == .owner)
    }

    @Test func parsingAnUnknownRoleListsTheAcceptedOnes() {
        #expect(throws: ValidationError(field: "role", "must be one of viewer, developer, owner, got \"admin\"")) {
            try ProjectRole.parse("admin")
        }
    }
}
