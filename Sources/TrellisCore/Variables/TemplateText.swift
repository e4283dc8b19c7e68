/// Text with `{{ expression }}` parts, as Jinja2 reads it: `{% raw %}…{% endraw %}` keeps its content literally,
/// and `{{ '{{' }}` writes literal braces. Other `{% … %}` tags are not supported and are errors, not silently text.
public struct TemplateText: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case literal(String)
        /// The expression's source and the column (from 1) where it starts.
        case expression(String, column: Int)
    }

    public let parts: [Part]

    public init(parsing text: String) throws(VariableError) {
        var parts: [Part] = []
        var literal = ""
        let characters = Array(text)
        var index = 0
        func starts(_ marker: String, at position: Int) -> Bool {
            let marker = Array(marker)
            return position + marker.count <= characters.count && Array(characters[position..<position + marker.count]) == marker
        }
        func find(_ marker: String, from position: Int) -> Int? {
            var cursor = position
            while cursor < characters.count {
                if starts(marker, at: cursor) { return cursor }
                cursor += 1
            }
            return nil
        }
        while index < characters.count {
            if starts("{{", at: index) {
                guard let close = Self.closingBraces(characters, from: index + 2) else {
                    throw VariableError(column: index + 1, expression: String(characters[index...]), "\"{{\" is never closed by \"}}\"")
                }
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = ""
                parts.append(.expression(String(characters[(index + 2)..<close]), column: index + 3))
                index = close + 2
            } else if starts("{%", at: index) {
                guard let close = find("%}", from: index + 2) else {
                    throw VariableError(column: index + 1, expression: String(characters[index...]), "\"{%\" is never closed by \"%}\"")
                }
                let tag = String(characters[(index + 2)..<close]).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["-", "+"])
                    .trimmingCharacters(in: .whitespaces)
                guard tag == "raw" else {
                    throw VariableError(
                        column: index + 1, expression: tag, "only {% raw %} … {% endraw %} is supported, not {% \(tag) %}")
                }
                guard let end = Self.endRaw(characters, from: close + 2) else {
                    throw VariableError(column: index + 1, expression: tag, "{% raw %} is never closed by {% endraw %}")
                }
                literal += String(characters[(close + 2)..<end.contentEnd])
                index = end.after
            } else {
                literal.append(characters[index])
                index += 1
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// Whether the text holds anything to render.
    public var hasExpressions: Bool { parts.contains { if case .expression = $0 { true } else { false } } }

    /// The `}}` that closes an expression, skipping braces inside string literals (`{{ '}}' }}`).
    static func closingBraces(_ characters: [Character], from start: Int) -> Int? {
        var index = start
        var quote: Character?
        while index < characters.count {
            let character = characters[index]
            if let open = quote {
                if character == "\\" {
                    index += 1
                } else if character == open {
                    quote = nil
                }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "}", index + 1 < characters.count, characters[index + 1] == "}" {
                return index
            }
            index += 1
        }
        return nil
    }

    /// `{% endraw %}` (with optional `-` trims): where the raw content ends and where the text goes on.
    static func endRaw(_ characters: [Character], from start: Int) -> (contentEnd: Int, after: Int)? {
        var index = start
        while index + 1 < characters.count {
            if characters[index] == "{", characters[index + 1] == "%" {
                var cursor = index + 2
                var tag = ""
                while cursor + 1 < characters.count, !(characters[cursor] == "%" && characters[cursor + 1] == "}") {
                    tag.append(characters[cursor])
                    cursor += 1
                }
                if cursor + 1 < characters.count,
                    tag.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["-", "+"]).trimmingCharacters(in: .whitespaces)
                        == "endraw"
                {
                    return (index, cursor + 2)
                }
            }
            index += 1
        }
        return nil
    }
}
