/// Values put into LDAP search filters, escaped as RFC 4515 says: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`,
/// `\29`, `\5c`, `\00`, so a login name such as `*)(uid=*` or `ali*` matches only an entry of that very name.
public enum LDAPFilter {
    public static func escape(_ value: String) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*": escaped += "\\2a"
            case "(": escaped += "\\28"
            case ")": escaped += "\\29"
            case "\\": escaped += "\\5c"
            case "\u{0}": escaped += "\\00"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// `template` with each `{name}` replaced by its value, escaped, in one pass (a value is never read as a
    /// placeholder); other braces are kept.
    public static func render(_ template: String, _ values: [String: String]) -> String {
        var filter = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            filter += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "}"), let value = values[String(rest[afterOpen..<close])] {
                filter += escape(value)
                rest = rest[rest.index(after: close)...]
            } else {
                filter += "{"
                rest = rest[afterOpen...]
            }
        }
        return filter + rest
    }
}
