/// Rules for the names users choose. Project names become Kubernetes namespaces and URL segments, so they
/// follow DNS-label rules; user names also come from LDAP `uid`s, so they allow dots and underscores.
public enum Names {
    /// Checks a DNS-label style name: `[a-z][a-z0-9-]*`, at most 63 characters, not ending in `-`.
    public static func validateResourceName(_ name: String, field: String) throws(ValidationError) {
        guard !name.isEmpty else { throw ValidationError(field: field, "must not be empty") }
        guard name.count <= 63 else { throw ValidationError(field: field, "must be at most 63 characters") }
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else {
            throw ValidationError(field: field, "must start with a lowercase letter, got \"\(name)\"")
        }
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        guard allowed else {
            throw ValidationError(field: field, "may contain only lowercase letters, digits and '-', got \"\(name)\"")
        }
        guard !name.hasSuffix("-") else { throw ValidationError(field: field, "must not end with '-'") }
    }

    /// Checks a user name: letters, digits, `.`, `_` and `-`, 1 to 64 characters, starting with a letter or digit.
    public static func validateUsername(_ name: String, field: String = "username") throws(ValidationError) {
        guard !name.isEmpty else { throw ValidationError(field: field, "must not be empty") }
        guard name.count <= 64 else { throw ValidationError(field: field, "must be at most 64 characters") }
        let isAlphanumeric: (Unicode.Scalar) -> Bool = {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        }
        guard let first = name.unicodeScalars.first, isAlphanumeric(first) else {
            throw ValidationError(field: field, "must start with a letter or digit, got \"\(name)\"")
        }
        guard name.unicodeScalars.allSatisfy({ isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }) else {
            throw ValidationError(field: field, "may contain only letters, digits, '.', '_' and '-', got \"\(name)\"")
        }
    }

    /// Local passwords: at least 8 characters (bcrypt reads at most 72 bytes).
    public static func validatePassword(_ password: String, field: String = "password") throws(ValidationError) {
        guard password.count >= 8 else { throw ValidationError(field: field, "must be at least 8 characters") }
        guard password.utf8.count <= 72 else { throw ValidationError(field: field, "must be at most 72 bytes") }
    }

    /// `[prefix/]name`: a DNS subdomain prefix, and a name of at most 63 characters.
    public static func isLabelKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last, !name.isEmpty else { return false }
        let prefixIsValid =
            parts.count == 1
            || (parts[0].count <= 253
                && parts[0].split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
                    !$0.isEmpty && $0.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
                })
        return prefixIsValid && isLabelValue(String(name))
    }

    /// At most 63 letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit (or empty).
    public static func isLabelValue(_ value: String) -> Bool {
        guard !value.isEmpty else { return true }
        let alphanumeric: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return value.count <= 63 && alphanumeric(value.first!) && alphanumeric(value.last!)
            && value.allSatisfy { alphanumeric($0) || "-_.".contains($0) }
    }
}
