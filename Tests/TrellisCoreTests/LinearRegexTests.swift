import Foundation
import Testing

@testable import TrellisCore

/// Template patterns match in time linear in the text, as Python's `re.fullmatch` answers.
@Suite struct LinearRegexTests {
    @Test(arguments: [
        ("/.*", "/tmp/x", true), ("/.*", "tmp", false), ("[a-z][a-z0-9-]*", "train-2", true), ("[a-z][a-z0-9-]*", "2train", false),
        ("\\d{3}-\\d{4}", "555-1234", true), ("\\d{3}-\\d{4}", "555-12345", false), ("a|bc|", "", true), ("a|bc|", "bc", true),
        ("(ab)+", "ababab", true), ("(ab)+", "ababa", false), ("(?:x|y){2,3}", "xyx", true), ("(?:x|y){2,3}", "xyxy", false),
        ("[^/]+", "file.txt", true), ("[^/]+", "a/b", false), ("\\w+@\\w+\\.com", "ada@example.com", true), ("^abc$", "abc", true),
        ("a{2,}", "aaaa", true), ("a{,2}", "aaa", false), ("a{2}b?", "aab", true), ("x{", "x{", true), ("[]a]+", "]a]", true),
        ("[a\\-z]+", "-", true), ("\\s*\\S+\\s*", "  word ", true), (".", "\n", false), ("(?P<name>[a-z]+)", "abc", true),
        ("a*?b", "aab", true), ("(a*)*", "aaa", true), ("[\\d_]+", "1_2", true), ("\\.", ".", true), ("\\.", "x", false),
    ])
    func matchesAsPythonDoes(_ pattern: String, _ text: String, _ expected: Bool) throws {
        #expect(try LinearRegex(pattern).wholeMatch(text) == expected, "\(pattern) on \(text.debugDescription)")
    }

    @Test(arguments: [
        ("(a", "missing )"), ("a)", "unbalanced"), ("*a", "nothing to repeat"), ("a**", "multiple repeat"), ("[a-", "unterminated"),
        ("(a)\\1", "backreferences"), ("(?=a)", "lookaround"), ("(?i)a", "lookaround"), ("\\b", "not supported"), ("a{3,2}", "min repeat"),
        ("(a{1000}){1000}", "too large"), ("[z-a]", "bad character range"),
    ])
    func patternsItCannotMatchLinearlyAreRefusedWithTheirPosition(_ pattern: String, _ message: String) {
        #expect(throws: LinearRegex.Failure.self) { try LinearRegex(pattern) }
        do {
            _ = try LinearRegex(pattern)
        } catch {
            #expect(error.description.contains(message) && error.position >= 1, "\(pattern): \(error)")
        }
    }

    /// The patterns that make backtracking engines exponential, on texts that fail at the very end: each answers
    /// (no match) — a backtracking engine takes about 2^40 steps on the first.
    @Test(.timeLimit(.minutes(1))) func catastrophicPatternsAnswerInLinearTime() throws {
        let text = String(repeating: "a", count: 40) + "!"
        for pattern in ["(a+)+$", "(a|a)*b", "(a|aa)+$", "(a*)*b", "(.*a){20}", "((a+)+)+c"] {
            #expect(try LinearRegex(pattern).wholeMatch(text) == false, "\(pattern)")
        }
        let long = String(repeating: "a", count: LinearRegex.textLimit)
        #expect(try LinearRegex("(a+)+").wholeMatch(long))
        #expect(try LinearRegex("(a+)+").wholeMatch(long + "a") == false)
    }
}
