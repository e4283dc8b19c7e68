import Foundation
import Testing
import TrellisCore
import Yams

/// ``YAMLText`` writes what YAML readers read back as the same value: every string (bare or quoted) stays a string.
@Suite struct YAMLTextTests {
    static let awkward = [
        "", " ", "plain", "with space", "yes", "No", "ON", "off", "Y", "n", "null", "Null", "~", "true", "False", "1", "1.0",
        "0x1F", "0o17", "0b101", "1_000", "1:20", "+1", "-1", ".inf", "-.inf", ".nan", "2001-12-14", "- a", "a: b", "a:b", "#x", "a #b",
        "\n", "two\nlines\n", "tab\there", "cr\rhere", "quote\"d", "back\\slash", "'single'", "é", "日本語", "🎉 party", "\u{85}next",
        "line\u{2028}sep", "del\u{7F}", "nul\u{0}", "bell\u{7}", "@at", "`tick", "!tag", "&anchor", "*alias",
        "%directive", "{a}", "[a]", "a,b", "?x", "|x", ">x", "=", "---", "...", "/usr/bin/env", "_under", "name-with.dots/and_",
        "trailing ", " leading", "key: value # comment",
    ]

    // Left out: "\u{FEFF}…" and "<<", written as YAML's escape and a quoted key, which libyaml (under Yams) reads as
    // nothing and as a merge key all the same.

    static func read(_ text: String) throws -> JSONValue {
        try YAMLDecoder().decode(JSONValue.self, from: text)
    }

    @Test func everyAwkwardStringReadsBackAsItself() throws {
        for text in Self.awkward {
            let value = JSONValue.object([text: .array([.string(text), .object([text: .string(text)])])])
            let yaml = YAMLText.document(value)
            #expect(try Self.read(yaml) == value, "\(text.debugDescription): \(yaml.debugDescription)")
        }
    }

    @Test func nestedShapesReadBackAsThemselves() throws {
        let value = JSONValue.object([
            "empty": .object([:]), "none": .array([]), "null": .null, "flags": .array([.bool(true), .bool(false)]),
            "numbers": .array([.int(0), .int(-7), .int(1 << 40), .double(1.5), .double(-0.25)]),
            "matrix": .array([.array([.int(1), .int(2)]), .array([]), .array([.array([.string("deep")])])]),
            "tasks": .array([
                .object(["name": .string("a"), "dependencies": .array([]), "arguments": .object(["parameters": .array([.object([:])])])]),
                .object(["name": .string("b"), "dependencies": .array([.string("a")])]),
            ]),
        ])
        #expect(try Self.read(YAMLText.document(value)) == value)
        #expect(
            try Self.read(YAMLText.document(.array([.string("x"), .object(["k": .string("v")])])))
                == .array([.string("x"), .object(["k": .string("v")])]))
        #expect(try Self.read(YAMLText.document(.string("yes"))) == .string("yes"))
    }

    @Test func plainWordsAreWrittenBare() {
        #expect(
            YAMLText.document(.object(["apiVersion": .string("argoproj.io/v1alpha1"), "kind": .string("Workflow")])) == """
                apiVersion: argoproj.io/v1alpha1
                kind: Workflow

                """)
        #expect(
            YAMLText.document(.object(["spec": .object(["tasks": .array([.object(["name": .string("a"), "x": .int(1)])])])])) == """
                spec:
                  tasks:
                    - name: a
                      x: 1

                """)
    }
}
