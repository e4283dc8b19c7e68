/// A ``JSONValue`` as block-style YAML, keys sorted: what the API serves of a generated document (the Argo Workflow of
/// a pipeline). Written here, in one pass, because a general YAML library's emitter took ten times as long as the
/// compilation for a 1,000-task Workflow. A string is written bare only when every YAML 1.1 and 1.2 reader takes it
/// for that string (letters, digits and `_./-`, starting with a letter, `_` or `/`, and not a word such readers take
/// for a boolean or null); otherwise double-quoted, with every character YAML does not allow raw escaped.
public enum YAMLText {
    public static func document(_ value: JSONValue) -> String {
        var output = ""
        switch value {
        case .object(let fields) where !fields.isEmpty: mapping(fields, indent: 0, into: &output)
        case .array(let items) where !items.isEmpty: sequence(items, indent: 0, into: &output)
        default: output += scalar(value) + "\n"
        }
        return output
    }

    private static func mapping(_ fields: [String: JSONValue], indent: Int, into output: inout String) {
        let pad = String(repeating: " ", count: indent)
        for key in fields.keys.sorted() {
            output += pad + string(key) + ":"
            entry(fields[key]!, indent: indent, into: &output)
        }
    }

    /// A value after `key:` or `- `: inline when it is a scalar or empty, else on the next lines, indented.
    private static func entry(_ value: JSONValue, indent: Int, into output: inout String) {
        switch value {
        case .object(let fields) where !fields.isEmpty:
            output += "\n"
            mapping(fields, indent: indent + 2, into: &output)
        case .array(let items) where !items.isEmpty:
            output += "\n"
            sequence(items, indent: indent + 2, into: &output)
        default:
            output += " " + scalar(value) + "\n"
        }
    }

    private static func sequence(_ items: [JSONValue], indent: Int, into output: inout String) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            switch item {
            case .object(let fields) where !fields.isEmpty:
                // The first field on the dash's line, the rest under it.
                var nested = ""
                mapping(fields, indent: indent + 2, into: &nested)
                output += pad + "- " + nested.dropFirst(indent + 2)
            case .array(let inner) where !inner.isEmpty:
                output += pad + "-\n"
                sequence(inner, indent: indent + 2, into: &output)
            default:
                output += pad + "- " + scalar(item) + "\n"
            }
        }
    }

    private static func scalar(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .int(let number): String(number)
        case .double(let number): JSONValue.number(number)
        case .string(let text): string(text)
        case .array: "[]"
        case .object: "{}"
        }
    }

    static let words: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null"]

    static func string(_ text: String) -> String {
        if let first = text.utf8.first, first.isLetter || first == UInt8(ascii: "_") || first == UInt8(ascii: "/"),
            text.utf8.allSatisfy({ $0.isLetter || $0.isDigit || "_./-".utf8.contains($0) }), !words.contains(text.lowercased())
        {
            return text
        }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: quoted += "\\\""
            case 0x5C: quoted += "\\\\"
            case 0x0A: quoted += "\\n"
            case 0x09: quoted += "\\t"
            // Controls, DEL and C1, the line and paragraph separators YAML 1.1 breaks lines at, BOM and non-characters.
            case 0..<0x20, 0x7F...0x9F, 0x2028...0x2029, 0xFEFF, 0xFFFE...0xFFFF:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}

extension UInt8 {
    fileprivate var isLetter: Bool { (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) }
    fileprivate var isDigit: Bool { (0x30...0x39).contains(self) }
}
