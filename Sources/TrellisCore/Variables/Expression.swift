/// An expression of template variables, parsed (Jinja2's expression grammar, the part DESIGN.md names).
public indirect enum Expression: Sendable, Equatable {
    case literal(Value)
    case name(String, column: Int)
    case attribute(Expression, String, column: Int)
    case index(Expression, Expression, column: Int)
    case slice(Expression, start: Expression?, stop: Expression?, step: Expression?, column: Int)
    case call(Expression, arguments: [Expression], keywords: [(String, Expression)], column: Int)
    case filter(Expression, name: String, arguments: [Expression], keywords: [(String, Expression)], column: Int)
    /// `base is [not] NAME[(arguments)]`, Jinja's tests.
    case test(Expression, name: String, arguments: [Expression], negated: Bool, column: Int)
    case unary(String, Expression, column: Int)
    case binary(String, Expression, Expression, column: Int)
    case conditional(condition: Expression, then: Expression, otherwise: Expression?)
    case list([Expression])

    public static func == (lhs: Expression, rhs: Expression) -> Bool {
        String(describing: lhs) == String(describing: rhs)
    }

    /// The parameters it reads (`params.NAME`, `params["NAME"]`), with their columns.
    var parameterReferences: [(String, Int)] {
        switch self {
        case .attribute(.name("params", _), let name, let column): return [(name, column)]
        case .index(.name("params", _), .literal(.string(let name)), let column): return [(name, column)]
        case .test(_, "defined", _, _, _), .test(_, "undefined", _, _, _): return []
        default: return children.flatMap(\.parameterReferences)
        }
    }

    /// Names it asks `is defined` (or `is undefined`) of: the expression reads them only where they are.
    var definednessTested: Set<String> {
        switch self {
        case .test(.name(let name, _), "defined", _, _, _), .test(.name(let name, _), "undefined", _, _, _): [name]
        default: children.reduce(into: Set<String>()) { $0.formUnion($1.definednessTested) }
        }
    }

    /// The tests it names (`is NAME`), with their columns.
    var tests: [(String, Int)] {
        if case .test(_, let name, _, _, let column) = self { return [(name, column)] + children.flatMap(\.tests) }
        return children.flatMap(\.tests)
    }

    /// The expressions directly inside this one.
    var children: [Expression] {
        switch self {
        case .literal, .name: []
        case .attribute(let base, _, _): [base]
        case .index(let base, let key, _): [base, key]
        case .slice(let base, let start, let stop, let step, _): [base] + [start, stop, step].compactMap { $0 }
        case .call(let base, let arguments, let keywords, _), .filter(let base, _, let arguments, let keywords, _):
            [base] + arguments + keywords.map(\.1)
        case .test(let base, _, let arguments, _, _): [base] + arguments
        case .unary(_, let operand, _): [operand]
        case .binary(_, let left, let right, _): [left, right]
        case .conditional(let condition, let then, let otherwise): [condition, then] + [otherwise].compactMap { $0 }
        case .list(let items): items
        }
    }
}

/// Reads an expression's source into an ``Expression``; columns count from the start of the field's text.
struct ExpressionParser {
    enum Token: Equatable {
        case name(String)
        case integer(Int)
        case float(Double)
        case string(String)
        case symbol(String)
        case end
    }

    static let maximumDepth = 64
    static let maximumLength = 4_096

    let source: String
    let offset: Int
    var tokens: [(token: Token, column: Int)] = []
    var position = 0
    var depth = 0

    init(source: String, column: Int) throws(VariableError) {
        self.source = source
        offset = column
        guard source.count <= Self.maximumLength else {
            throw VariableError(
                column: column, expression: String(source.prefix(40)) + "…",
                "the expression is longer than \(Self.maximumLength) characters")
        }
        tokens = try tokenize()
    }

    static func parse(_ source: String, column: Int) throws(VariableError) -> Expression {
        var parser = try ExpressionParser(source: source, column: column)
        let expression = try parser.conditional()
        guard parser.current == .end else { throw parser.error("unexpected \(parser.describe(parser.current))") }
        return expression
    }

    // MARK: Tokens

    static let symbols = [
        "//", "==", "!=", "<=", ">=", "**", "+", "-", "*", "/", "%", "(", ")", "[", "]", ".", ",", ":", "=", "<", ">", "|", "~",
    ]

    func tokenize() throws(VariableError) -> [(token: Token, column: Int)] {
        let characters = Array(source)
        var tokens: [(Token, Int)] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let column = offset + index
            if character.isWhitespace {
                index += 1
            } else if character.isLetter || character == "_" {
                var name = ""
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                    name.append(characters[index])
                    index += 1
                }
                tokens.append((.name(name), column))
            } else if character.isNumber {
                var text = ""
                var isFloat = false
                while index < characters.count,
                    characters[index].isNumber || characters[index] == "_"
                        || (characters[index] == "." && !isFloat && index + 1 < characters.count && characters[index + 1].isNumber)
                {
                    if characters[index] == "." { isFloat = true }
                    if characters[index] != "_" { text.append(characters[index]) }
                    index += 1
                }
                // An exponent: 1e-05, 2.5E3.
                if index < characters.count, characters[index] == "e" || characters[index] == "E" {
                    var end = index + 1
                    if end < characters.count, characters[end] == "+" || characters[end] == "-" { end += 1 }
                    if end < characters.count, characters[end].isNumber {
                        text += String(characters[index..<end])
                        index = end
                        while index < characters.count, characters[index].isNumber {
                            text.append(characters[index])
                            index += 1
                        }
                        isFloat = true
                    }
                }
                if isFloat {
                    guard let value = Double(text) else { throw VariableError(column: column, expression: source, "bad number \(text)") }
                    tokens.append((.float(value), column))
                } else {
                    guard let value = Int(text) else {
                        throw VariableError(column: column, expression: source, "the number \(text) is too large")
                    }
                    tokens.append((.integer(value), column))
                }
            } else if character == "'" || character == "\"" {
                var value = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    if next == character {
                        closed = true
                        index += 1
                        break
                    }
                    if next == "\\", index + 1 < characters.count {
                        index += 1
                        switch characters[index] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "\\": value.append("\\")
                        case "'": value.append("'")
                        case "\"": value.append("\"")
                        default:
                            value.append("\\")
                            value.append(characters[index])
                        }
                    } else {
                        value.append(next)
                    }
                    index += 1
                }
                guard closed else { throw VariableError(column: column, expression: source, "a string is never closed") }
                tokens.append((.string(value), column))
            } else if let symbol = Self.symbols.first(where: { symbol in
                Array(symbol).enumerated().allSatisfy {
                    index + $0.offset < characters.count && characters[index + $0.offset] == $0.element
                }
            }) {
                tokens.append((.symbol(symbol), column))
                index += symbol.count
            } else {
                throw VariableError(column: column, expression: source, "unexpected character \"\(character)\"")
            }
        }
        tokens.append((.end, offset + characters.count))
        return tokens
    }

    var current: Token { tokens[position].token }
    var column: Int { tokens[position].column }

    mutating func advance() { position = min(position + 1, tokens.count - 1) }

    func error(_ message: String) -> VariableError { VariableError(column: column, expression: source, message) }

    func describe(_ token: Token) -> String {
        switch token {
        case .name(let name): "\"\(name)\""
        case .integer(let value): "\(value)"
        case .float(let value): "\(value)"
        case .string: "string"
        case .symbol(let symbol): "\"\(symbol)\""
        case .end: "end of expression"
        }
    }

    mutating func take(_ symbol: String) -> Bool {
        if current == .symbol(symbol) {
            advance()
            return true
        }
        return false
    }

    mutating func takeName(_ word: String) -> Bool {
        if current == .name(word) {
            advance()
            return true
        }
        return false
    }

    mutating func expect(_ symbol: String) throws(VariableError) {
        guard take(symbol) else { throw error("expected \"\(symbol)\", found \(describe(current))") }
    }

    mutating func nested<T>(_ body: (inout ExpressionParser) throws(VariableError) -> T) throws(VariableError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw error("the expression nests deeper than \(Self.maximumDepth) levels") }
        return try body(&self)
    }

    // MARK: Grammar (lowest precedence first)

    mutating func conditional() throws(VariableError) -> Expression {
        try nested { parser throws(VariableError) in
            let value = try parser.or()
            guard parser.takeName("if") else { return value }
            let condition = try parser.or()
            let otherwise = parser.takeName("else") ? try parser.conditional() : nil
            return .conditional(condition: condition, then: value, otherwise: otherwise)
        }
    }

    mutating func or() throws(VariableError) -> Expression {
        var left = try and()
        while case .name("or") = current {
            let column = self.column
            advance()
            left = .binary("or", left, try and(), column: column)
        }
        return left
    }

    mutating func and() throws(VariableError) -> Expression {
        var left = try not()
        while case .name("and") = current {
            let column = self.column
            advance()
            left = .binary("and", left, try not(), column: column)
        }
        return left
    }

    mutating func not() throws(VariableError) -> Expression {
        if case .name("not") = current {
            let column = self.column
            advance()
            return try nested { parser throws(VariableError) in .unary("not", try parser.not(), column: column) }
        }
        return try comparison()
    }

    mutating func comparison() throws(VariableError) -> Expression {
        var left = try concatenation()
        while true {
            let column = self.column
            if case .symbol(let symbol) = current, ["==", "!=", "<", "<=", ">", ">="].contains(symbol) {
                advance()
                left = .binary(symbol, left, try concatenation(), column: column)
            } else if current == .name("in") {
                advance()
                left = .binary("in", left, try concatenation(), column: column)
            } else if current == .name("not"), position + 1 < tokens.count, tokens[position + 1].token == .name("in") {
                advance()
                advance()
                left = .binary("not in", left, try concatenation(), column: column)
            } else {
                return left
            }
        }
    }

    mutating func concatenation() throws(VariableError) -> Expression {
        var left = try additive()
        while current == .symbol("~") {
            let column = self.column
            advance()
            left = .binary("~", left, try additive(), column: column)
        }
        return left
    }

    mutating func additive() throws(VariableError) -> Expression {
        var left = try multiplicative()
        while case .symbol(let symbol) = current, symbol == "+" || symbol == "-" {
            let column = self.column
            advance()
            left = .binary(symbol, left, try multiplicative(), column: column)
        }
        return left
    }

    mutating func multiplicative() throws(VariableError) -> Expression {
        var left = try unary()
        while case .symbol(let symbol) = current, ["*", "/", "//", "%"].contains(symbol) {
            let column = self.column
            advance()
            left = .binary(symbol, left, try unary(), column: column)
        }
        return left
    }

    mutating func unary() throws(VariableError) -> Expression {
        if case .symbol(let symbol) = current, symbol == "-" || symbol == "+" {
            let column = self.column
            advance()
            let operand = try nested { parser throws(VariableError) in try parser.unary() }
            return try filters(.unary(symbol, operand, column: column))
        }
        return try filters(try postfix(try primary()))
    }

    /// Filters (`| name(…)`) and tests (`is [not] name(…)`), left to right, as Jinja2 reads them: binding tighter than
    /// arithmetic and comparisons.
    mutating func filters(_ base: Expression) throws(VariableError) -> Expression {
        var value = base
        while current == .symbol("|") || current == .name("is") {
            let isTest = current == .name("is")
            advance()
            let negated = isTest && takeName("not")
            let column = self.column
            guard case .name(let name) = current else {
                throw error(isTest ? "expected a test name after \"is\"" : "expected a filter name after \"|\"")
            }
            advance()
            var arguments: [Expression] = []
            var keywords: [(String, Expression)] = []
            if take("(") { (arguments, keywords) = try callArguments() }
            if isTest {
                guard keywords.isEmpty else { throw error("a test takes no keyword arguments") }
                value = .test(value, name: name, arguments: arguments, negated: negated, column: column)
            } else {
                value = .filter(value, name: name, arguments: arguments, keywords: keywords, column: column)
            }
        }
        return value
    }

    mutating func postfix(_ base: Expression) throws(VariableError) -> Expression {
        var value = base
        while true {
            let column = self.column
            if take(".") {
                guard case .name(let name) = current else { throw error("expected an attribute name after \".\"") }
                advance()
                value = .attribute(value, name, column: column)
            } else if take("(") {
                let (arguments, keywords) = try nested { parser throws(VariableError) in try parser.callArguments() }
                value = .call(value, arguments: arguments, keywords: keywords, column: column)
            } else if take("[") {
                value = try nested { parser throws(VariableError) in try parser.subscripted(value, column: column) }
            } else {
                return value
            }
        }
    }

    mutating func subscripted(_ base: Expression, column: Int) throws(VariableError) -> Expression {
        var start: Expression?
        if current != .symbol(":") { start = try conditional() }
        guard take(":") else {
            try expect("]")
            guard let start else { throw error("empty index") }
            return .index(base, start, column: column)
        }
        var stop: Expression?
        var step: Expression?
        if current != .symbol("]") && current != .symbol(":") { stop = try conditional() }
        if take(":"), current != .symbol("]") { step = try conditional() }
        try expect("]")
        return .slice(base, start: start, stop: stop, step: step, column: column)
    }

    /// After "(": positional arguments, then `name=value` ones, up to ")".
    mutating func callArguments() throws(VariableError) -> ([Expression], [(String, Expression)]) {
        var arguments: [Expression] = []
        var keywords: [(String, Expression)] = []
        while !take(")") {
            if case .name(let name) = current, position + 1 < tokens.count, tokens[position + 1].token == .symbol("=") {
                advance()
                advance()
                keywords.append((name, try conditional()))
            } else {
                guard keywords.isEmpty else { throw error("a positional argument follows a keyword argument") }
                arguments.append(try conditional())
            }
            if !take(",") {
                try expect(")")
                break
            }
        }
        return (arguments, keywords)
    }

    mutating func primary() throws(VariableError) -> Expression {
        let column = self.column
        switch current {
        case .integer(let value):
            advance()
            return .literal(.int(value))
        case .float(let value):
            advance()
            return .literal(.float(value))
        case .string(var value):
            advance()
            // Adjacent strings join, as in Python and Jinja2.
            while case .string(let more) = current {
                value += more
                advance()
            }
            return .literal(.string(value))
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name, column: column)
            }
        case .symbol("("):
            advance()
            let inner = try conditional()
            try expect(")")
            return inner
        case .symbol("["):
            advance()
            var items: [Expression] = []
            while !take("]") {
                items.append(try conditional())
                if !take(",") {
                    try expect("]")
                    break
                }
            }
            return .list(items)
        case .end:
            throw error(source.trimmingCharacters(in: .whitespaces).isEmpty ? "an empty expression" : "the expression ends too early")
        default:
            throw error("unexpected \(describe(current))")
        }
    }
}
