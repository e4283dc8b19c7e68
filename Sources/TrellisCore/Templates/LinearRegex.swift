/// A regular expression that matches in time linear in the text: Thompson's construction, run as a set of states
/// (Pike's VM without captures), never backtracking — so a template's `regex` such as `(a+)+$` cannot stall the
/// server however the text is made. It reads the syntax template patterns use, Python's: literals and escapes, `.`,
/// classes (`[a-z_]`, `[^/]`, `\d \w \s` and their negations), groups (`(…)`, `(?:…)`, `(?P<name>…)`), `|`, the
/// quantifiers `* + ? {m} {m,} {m,n}` (lazy or not: a whole match does not care) and `^`/`$`. What needs backtracking
/// or more — backreferences, lookaround, inline flags — is refused with the position, when the template is saved.
public struct LinearRegex: Sendable {
    /// Why a pattern is refused: what, and where (1-based, in characters).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let position: Int
        public let message: String
        public var description: String { "\(message) at position \(position)" }
    }

    /// The most states a pattern may compile to (`{m,n}` copies its operand): matching costs states × characters.
    public static let stateLimit = 2_000
    /// The longest text matched; longer is no match.
    public static let textLimit = 65_536

    let program: [Instruction]

    public init(_ pattern: String) throws(Failure) {
        var parser = Parser(Array(pattern))
        let tree = try parser.parseAll()
        var compiler = Compiler()
        try compiler.emit(tree)
        compiler.program.append(.match)
        program = compiler.program
    }

    /// Whether the whole of `text` matches (Python's `re.fullmatch`).
    public func wholeMatch(_ text: String) -> Bool {
        let characters = Array(text)
        guard characters.count <= Self.textLimit else { return false }
        var current = StateSet(capacity: program.count)
        var next = StateSet(capacity: program.count)
        add(0, at: 0, count: characters.count, to: &current)
        for (position, character) in characters.enumerated() {
            guard !current.isEmpty else { return false }
            next.clear()
            for state in current.states {
                switch program[state] {
                case .character(let expected) where expected == character:
                    add(state + 1, at: position + 1, count: characters.count, to: &next)
                case .any where character != "\n": add(state + 1, at: position + 1, count: characters.count, to: &next)
                case .set(let set) where set.contains(character): add(state + 1, at: position + 1, count: characters.count, to: &next)
                default: break
                }
            }
            swap(&current, &next)
        }
        return current.states.contains { program[$0] == .match }
    }

    /// Adds `state` and every state reached from it without reading a character (at `position` of `count`).
    private func add(_ state: Int, at position: Int, count: Int, to set: inout StateSet) {
        var pending = [state]
        while let state = pending.popLast() {
            guard set.insert(state) else { continue }
            switch program[state] {
            case .jump(let target): pending.append(target)
            case .split(let first, let second): pending.append(contentsOf: [second, first])
            case .start: if position == 0 { pending.append(state + 1) }
            case .end: if position == count { pending.append(state + 1) }
            default: break
            }
        }
    }

    enum Instruction: Equatable, Sendable {
        case character(Character)
        case any
        case set(CharacterSet)
        case split(Int, Int)
        case jump(Int)
        case start
        case end
        case match
    }

    /// Characters by ranges and classes, possibly negated.
    struct CharacterSet: Equatable, Sendable {
        var ranges: [ClosedRange<Character>] = []
        var classes: [Shorthand] = []
        var negated = false

        func contains(_ character: Character) -> Bool {
            let found = ranges.contains { $0.contains(character) } || classes.contains { $0.contains(character) }
            return found != negated
        }
    }

    enum Shorthand: Equatable, Sendable {
        case digit, word, space, notDigit, notWord, notSpace

        func contains(_ character: Character) -> Bool {
            switch self {
            case .digit: character.isNumber && character.isASCII
            case .word: character.isLetter || character.isNumber || character == "_"
            case .space: character.isWhitespace
            case .notDigit: !Shorthand.digit.contains(character)
            case .notWord: !Shorthand.word.contains(character)
            case .notSpace: !Shorthand.space.contains(character)
            }
        }
    }

    indirect enum Node: Equatable {
        case empty
        case character(Character)
        case any
        case set(CharacterSet)
        case start, end
        case sequence([Node])
        case alternation([Node])
        /// `minimum` to `maximum` (nil: unbounded) times.
        case repetition(Node, minimum: Int, maximum: Int?)
    }

    struct Parser {
        let characters: [Character]
        var index = 0

        init(_ characters: [Character]) { self.characters = characters }

        func fail(_ message: String, at position: Int? = nil) -> Failure {
            Failure(position: (position ?? index) + 1, message: message)
        }

        var current: Character? { index < characters.count ? characters[index] : nil }

        mutating func parseAll() throws(Failure) -> Node {
            let node = try parseAlternation(depth: 0)
            if current == ")" { throw fail("unbalanced parenthesis") }
            return node
        }

        mutating func parseAlternation(depth: Int) throws(Failure) -> Node {
            guard depth < 100 else { throw fail("the pattern nests too deeply") }
            var branches = [try parseSequence(depth: depth)]
            while current == "|" {
                index += 1
                branches.append(try parseSequence(depth: depth))
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseSequence(depth: Int) throws(Failure) -> Node {
            var items: [Node] = []
            while let character = current, character != "|", character != ")" {
                let atom = try parseAtom(depth: depth)
                items.append(try parseQuantifiers(atom))
            }
            return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .sequence(items))
        }

        mutating func parseQuantifiers(_ atom: Node) throws(Failure) -> Node {
            var node = atom
            while let character = current {
                let start = index
                var bounds: (Int, Int?)
                switch character {
                case "*": bounds = (0, nil)
                case "+": bounds = (1, nil)
                case "?": bounds = (0, 1)
                case "{":
                    guard let parsed = parseBraces() else { return node }  // a literal `{`, as Python reads it
                    bounds = parsed  // `index` is on the closing brace
                default: return node
                }
                index += 1
                if current == "?" { index += 1 }  // lazy: the same whole match
                if case .repetition = node { throw fail("multiple repeat", at: start) }
                switch node {
                case .start, .end, .empty: throw fail("nothing to repeat", at: start)
                default: break
                }
                if let maximum = bounds.1, maximum < bounds.0 { throw fail("min repeat greater than max repeat", at: start) }
                node = .repetition(node, minimum: bounds.0, maximum: bounds.1)
            }
            return node
        }

        /// `{m}`, `{m,}`, `{,n}` or `{m,n}` at `index`, leaving `index` on the closing brace; nil (nothing read) if
        /// it is not one.
        mutating func parseBraces() -> (Int, Int?)? {
            let start = index
            var position = index + 1
            func number() -> Int? {
                var digits = ""
                while position < characters.count, characters[position].isASCII, characters[position].isNumber {
                    digits.append(characters[position])
                    position += 1
                }
                return digits.isEmpty ? nil : Int(digits.prefix(6))
            }
            let minimum = number()
            var maximum = minimum
            if position < characters.count, characters[position] == "," {
                position += 1
                maximum = number()
            } else if minimum == nil {
                return nil
            }
            guard position < characters.count, characters[position] == "}" else {
                index = start
                return nil
            }
            index = position
            return (minimum ?? 0, maximum)
        }

        mutating func parseAtom(depth: Int) throws(Failure) -> Node {
            let character = characters[index]
            let start = index
            index += 1
            switch character {
            case ".": return .any
            case "^": return .start
            case "$": return .end
            case "*", "+", "?": throw fail("nothing to repeat", at: start)
            case "[": return .set(try parseSet())
            case "\\": return try parseEscape(inSet: false).node
            case "(":
                if current == "?" {
                    index += 1
                    switch current {
                    case ":": index += 1
                    case "P" where index + 1 < characters.count && characters[index + 1] == "<":
                        guard let close = characters[index...].firstIndex(of: ">") else { throw fail("unterminated group name", at: start) }
                        index = close + 1
                    default:
                        throw fail("(? groups other than (?: and (?P< (lookaround, flags) are not supported", at: start)
                    }
                }
                let inner = try parseAlternation(depth: depth + 1)
                guard current == ")" else { throw fail("missing ), unterminated subpattern", at: start) }
                index += 1
                return .sequence([inner])  // a group: `(a*)*` repeats the group, not the repeat
            default: return .character(character)
            }
        }

        /// After a `\`: a shorthand class, an escaped character, or a refusal (backreferences and the rest).
        mutating func parseEscape(inSet: Bool) throws(Failure) -> (node: Node, character: Character?) {
            guard let character = current else { throw fail("bad escape (end of pattern)") }
            index += 1
            let shorthands: [Character: Shorthand] = [
                "d": .digit, "w": .word, "s": .space, "D": .notDigit, "W": .notWord, "S": .notSpace,
            ]
            if let shorthand = shorthands[character] { return (.set(CharacterSet(classes: [shorthand])), nil) }
            let controls: [Character: Character] = ["n": "\n", "t": "\t", "r": "\r", "f": "\u{0C}", "v": "\u{0B}"]
            if let control = controls[character] { return (.character(control), control) }
            if character.isLetter || character.isNumber {
                throw fail("\\\(character) (backreferences, \\b and other escapes) is not supported", at: index - 2)
            }
            return (.character(character), character)
        }

        /// A class after `[`, through its `]`.
        mutating func parseSet() throws(Failure) -> CharacterSet {
            let start = index - 1
            var set = CharacterSet()
            if current == "^" {
                set.negated = true
                index += 1
            }
            var first = true
            while true {
                guard let character = current else { throw fail("unterminated character set", at: start) }
                if character == "]" && !first { break }
                first = false
                index += 1
                var low = character
                if character == "\\" {
                    let escaped = try parseEscape(inSet: true)
                    guard let literal = escaped.character else {
                        if case .set(let shorthand) = escaped.node { set.classes += shorthand.classes }
                        continue
                    }
                    low = literal
                }
                if current == "-", index + 1 < characters.count, characters[index + 1] != "]" {
                    index += 1
                    var high = characters[index]
                    index += 1
                    if high == "\\" {
                        guard let literal = try parseEscape(inSet: true).character else { throw fail("bad character range", at: index - 2) }
                        high = literal
                    }
                    guard low <= high else { throw fail("bad character range \(low)-\(high)", at: index - 2) }
                    set.ranges.append(low...high)
                } else {
                    set.ranges.append(low...low)
                }
            }
            index += 1
            return set
        }
    }

    struct Compiler {
        var program: [Instruction] = []

        mutating func append(_ instruction: Instruction) throws(Failure) {
            guard program.count < LinearRegex.stateLimit else {
                throw Failure(position: 1, message: "the pattern is too large (more than \(LinearRegex.stateLimit) states)")
            }
            program.append(instruction)
        }

        mutating func emit(_ node: Node) throws(Failure) {
            switch node {
            case .empty: break
            case .character(let character): try append(.character(character))
            case .any: try append(.any)
            case .set(let set): try append(.set(set))
            case .start: try append(.start)
            case .end: try append(.end)
            case .sequence(let items): for item in items { try emit(item) }
            case .alternation(let branches):
                var jumps: [Int] = []
                for (offset, branch) in branches.enumerated() {
                    if offset < branches.count - 1 {
                        let split = program.count
                        try append(.split(split + 1, -1))
                        try emit(branch)
                        jumps.append(program.count)
                        try append(.jump(-1))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumps { program[jump] = .jump(program.count) }
            case .repetition(let inner, let minimum, let maximum):
                for _ in 0..<minimum { try emit(inner) }
                if let maximum {
                    // Each optional copy may be skipped to the end.
                    var splits: [Int] = []
                    for _ in minimum..<maximum {
                        splits.append(program.count)
                        try append(.split(program.count + 1, -1))
                        try emit(inner)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    let loop = program.count
                    try append(.split(loop + 1, -1))
                    try emit(inner)
                    try append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }

    /// A set of states with insertion order, cleared in constant time.
    struct StateSet {
        private var stamp: [Int]
        private var generation = 1
        private(set) var states: [Int] = []

        init(capacity: Int) { stamp = Array(repeating: 0, count: capacity) }

        var isEmpty: Bool { states.isEmpty }

        /// Whether `state` was new.
        mutating func insert(_ state: Int) -> Bool {
            guard stamp[state] != generation else { return false }
            stamp[state] = generation
            states.append(state)
            return true
        }

        mutating func clear() {
            generation += 1
            states.removeAll(keepingCapacity: true)
        }
    }
}
