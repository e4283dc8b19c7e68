import Foundation
import Testing
import TrellisCore

/// Template variables against Python's Jinja2: each expected output below is what Jinja2 3.1.6 rendered for the same
/// text and context (scripts/jinja-expectations.py prints them; the context is `Self.context`).
@Suite struct VariableTests {
    static let context = VariableContext(
        variables: [
            "creator": .string("olga"), "runner": .string("vera"), "pipeline_id": .string("p-123"), "pipeline_name": .string("daily-train"),
            "project": .string("ml"), "cluster_name": .string("local"), "run_id": .string("r-1"),
            "execution_date": .string("2026-11-29 02:00:00"), "ds": .string("2026-11-29"), "ds_nodash": .string("20261129"),
            "ts": .string("2026-11-29T02:00:00+00:00"), "ts_nodash": .string("20261129T020000"), "prev_ds": .none, "next_ds": .none,
            "DATA_DIR": .string("/mnt/data"), "EPOCHS": .string("12"),
        ],
        now: PyDateTime(year: 2026, month: 11, day: 29, hour: 10, microsecond: 123_456)!,
        utcNow: PyDateTime(year: 2026, month: 11, day: 29, hour: 2, microsecond: 123_456)!,
        randomBytes: { (0..<16).map { _ in UInt8.random(in: 0...255) } }
    )

    static let jinja2: [(String, String)] = [
        ("{{ pipeline_name }}-{{ runner }}", "daily-train-vera"),
        ("{{ execution_date }}", "2026-11-29 02:00:00"),
        ("{{datetime.datetime.now().strftime(\"%Y%m%d-%H%M%S.%f\")}}", "20261129-100000.123456"),
        ("{{ datetime.datetime.now().strftime('%j %U %W %a %A %b %B %p %y %Z %z %%') }}", "333 48 47 Sun Sunday Nov November AM 26   %"),
        ("{{ datetime.datetime.utcnow() }}", "2026-11-29 02:00:00.123456"),
        ("{{ datetime.datetime.now() }}", "2026-11-29 10:00:00.123456"),
        ("{{ datetime.datetime.now() - datetime.timedelta(days=1, hours=2) }}", "2026-11-28 08:00:00.123456"),
        ("{{ (datetime.datetime.now() + datetime.timedelta(weeks=1, minutes=5, seconds=3)).isoformat() }}", "2026-12-06T10:05:03.123456"),
        ("{{ datetime.datetime.now() - datetime.datetime.strptime(ds, '%Y-%m-%d') }}", "10:00:00.123456"),
        (
            "{{ datetime.datetime.strptime('2026-03-01 07:05', '%Y-%m-%d %H:%M') - datetime.datetime.strptime('2026-02-28', '%Y-%m-%d') }}",
            "1 day, 7:05:00"
        ),
        ("{{ datetime.datetime.strptime(execution_date, '%Y-%m-%d %H:%M:%S').date() }}", "2026-11-29"),
        (
            "{{ datetime.datetime.now().year }}/{{ datetime.datetime.now().month }}/{{ datetime.datetime.now().day }} {{ datetime.datetime.now().hour }}:{{ datetime.datetime.now().minute }}:{{ datetime.datetime.now().second }}.{{ datetime.datetime.now().microsecond }}",
            "2026/11/29 10:0:0.123456"
        ),
        ("{{ datetime.datetime.now().weekday() }} {{ datetime.datetime.now().isoweekday() }}", "6 7"),
        ("{{ datetime.datetime.now().replace(day=1, hour=0, microsecond=0) }}", "2026-11-01 00:00:00"),
        ("{{ datetime.timedelta(hours=-1) }}", "-1 day, 23:00:00"),
        ("{{ datetime.timedelta(days=2, seconds=5, microseconds=7) }}", "2 days, 0:00:05.000007"),
        ("{{ datetime.timedelta(1, 30).total_seconds() }}", "86430.0"),
        ("{{ datetime.timedelta(hours=36).days }} {{ datetime.timedelta(hours=36).seconds }}", "1 43200"),
        ("{{ datetime.datetime(2024, 2, 29, 23, 59).strftime('%Y-%m-%d %H:%M %j %U %W') }}", "2024-02-29 23:59 060 08 09"),
        ("{{ datetime.datetime(2021, 1, 3).strftime('%U %W %w %a') }}", "01 00 0 Sun"),
        ("{{ datetime.datetime(2026, 1, 1, 13, 5).strftime('%I:%M %p %c') }}", "01:05 PM Thu Jan  1 13:05:00 2026"),
        (
            "{{ ds }} {{ ds_nodash }} {{ ts }} {{ ts_nodash }} {{ prev_ds }}",
            "2026-11-29 20261129 2026-11-29T02:00:00+00:00 20261129T020000 None"
        ),
        ("{{ macros.ds_add(ds, 5) }} {{ macros.ds_add(ds, -30) }}", "2026-12-04 2026-10-30"),
        ("{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}", "29/11/2026"),
        (
            "{{ 'abcdef'[:4] }}|{{ 'abcdef'[-2:] }}|{{ 'abcdef'[1:3] }}|{{ 'abcdef'[::2] }}|{{ 'abcdef'[::-1] }}|{{ 'abcdef'[-1] }}",
            "abcd|ef|bc|ace|fedcba|f"
        ),
        ("{{ [1, 2, 3][1:] }} {{ [1, 'a', None, True][0:4] }}", "[2, 3] [1, 'a', None, True]"),
        (
            "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 - 5 }}",
            "7 9 3.5 3 -4 1 2 -3"
        ),
        (
            "{{ 1.5 + 1 }} {{ 10 / 4 }} {{ 1 / 3 }} {{ 0.1 + 0.2 }} {{ 2.0 * 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1e-05 }}",
            "2.5 2.5 0.3333333333333333 0.30000000000000004 6.0 3.0 0.5 1e-05"
        ),
        ("{{ 'a' + 'b' }} {{ 'ab' * 3 }} {{ 'x' ~ 5 ~ None }}", "ab ababab x5None"),
        (
            "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 'a' == 'a' }} {{ 1 == 1.0 }} {{ 'b' > 'a' }} {{ 3 != 4 }} {{ 'ai' in 'train' }} {{ 2 not in [1, 3] }}",
            "True False True True True True True True"
        ),
        ("{{ true and 'x' }} {{ false or 'y' }} {{ not 0 }} {{ None or 0 or 'z' }} {{ 0 and 1 }}", "x y True z 0"),
        ("{{ 'big' if EPOCHS | int > 10 else 'small' }} {{ 'yes' if runner == 'vera' else 'no' }}", "big yes"),
        (
            "{{ runner | upper }} {{ 'ABC' | lower }} {{ '  pad  ' | trim }}! {{ pipeline_name | replace('-', '_') }} {{ 'aaa' | replace('a', 'b', 2) }}",
            "VERA abc pad! daily_train bba"
        ),
        (
            "{{ EPOCHS | int + 1 }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ 42 | string }}{{ 1 | string }} {{ runner | length }} {{ [1, 2] | length }}",
            "13 0 7 3 421 4 2"
        ),
        (
            "{{ prev_ds | default('none yet') }} {{ missing | default('fallback') }} {{ '' | default('empty', true) }} {{ missing | d('d') }}",
            "None fallback empty d"
        ),
        ("{{ '{{' }} literal {{ '}}' }}", "{{ literal }}"),
        ("{% raw %}{{ not rendered }} {% endraw %}{{ project }}", "{{ not rendered }} ml"),
        (
            "{{ DATA_DIR }}/{{ creator }}/{{ cluster_name }}/{{ run_id }}/{{ pipeline_id }}/{{ project }}",
            "/mnt/data/olga/local/r-1/p-123/ml"
        ),
        (
            "{{ 'a,b,,c'.split(',') }} {{ '-'.join(['x', 'y']) }} {{ 'Train'.startswith('Tr') }} {{ '7'.zfill(3) }} {{ ' hi '.strip() }} {{ 'hello world'.title() }}",
            "['a', 'b', '', 'c'] x-y True 007 hi Hello World"
        ),
        ("{{ str(5) + '!' }} {{ int('12') * 2 }} {{ len('abc') }}", "5! 24 3"),
        ("{{ -5 }} {{ +3 }} {{ -(2 - 5) }} {{ not not 'x' }}", "-5 3 3 True"),
        ("{{ \"it's\" }} {{ 'say \"hi\"' }} {{ ['it\\'s'] }} {{ 'tab\\there' }}", "it's say \"hi\" [\"it's\"] tab\there"),
        ("{{ datetime.datetime.now().strftime('%Y') | int - 1 }}", "2025"),
        (
            "{{ datetime.datetime.now().date().isoformat() }} {{ datetime.datetime.now().isoformat() }}",
            "2026-11-29 2026-11-29T10:00:00.123456"
        ),
        (
            "{{ datetime.datetime.now() > datetime.datetime.utcnow() }} {{ datetime.timedelta(hours=1) < datetime.timedelta(minutes=61) }}",
            "True True"
        ),
        ("{{ datetime.datetime.strptime('Sun, 29 Nov 2026 02:00:00 PM', '%a, %d %b %Y %I:%M:%S %p') }}", "2026-11-29 14:00:00"),
        ("{{ datetime.datetime.strptime('2026-333', '%Y-%j') }}", "2026-11-29 00:00:00"),
        // Tests (`is …`) and membership, as Jinja2 reads them (a test binds tighter than arithmetic).
        (
            "{{ DATA_DIR is defined }} {{ nothing is defined }} {{ nothing is not defined }} {{ nothing is undefined }}",
            "True False True True"
        ),
        ("{{ prev_ds is none }} {{ ds is none }} {{ ds is not none }}", "True False True"),
        (
            "{{ 3 is number }} {{ 2.5 is number }} {{ True is number }} {{ EPOCHS is number }} {{ EPOCHS is string }}",
            "True True True False True"
        ),
        (
            "{{ 3 is integer }} {{ True is integer }} {{ 2.5 is float }} {{ True is boolean }} {{ 1 is boolean }}",
            "True False True True False"
        ),
        ("{{ 'ml' in project }} {{ 'x' not in project }} {{ 'a' in ['a', 'b'] }} {{ 'c' not in ['a', 'b'] }}", "True True True True"),
        ("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby(3) }} {{ 'abc' is lower }} {{ 'ABC' is upper }}", "True True True True True"),
        ("{{ DATA_DIR if DATA_DIR is defined else '/tmp' }} {{ missing if missing is defined else 'fallback' }}", "/mnt/data fallback"),
        ("{{ 1 + 2 is number }} {{ not ds is none }} {{ ds is string and EPOCHS is string }}", "2 True True"),
        (
            "{{ [1] is sequence }} {{ 'x' is iterable }} {{ 3 is sequence }} {{ True is true }} {{ False is false }} {{ 1 is true }}",
            "True True False True True False"
        ),
        ("{{ datetime.datetime.now().strftime('%f') }} {{ datetime.datetime.now().microsecond }}", "123456 123456"),
    ]

    @Test(arguments: jinja2)
    func rendersAsJinja2Does(_ text: String, _ expected: String) throws {
        #expect(try VariableRenderer.render(text, field: "args.x", context: Self.context) == expected)
    }

    @Test func theSeedsUUIDExamplesHaveTheirShapeAndAreFreshEachCall() throws {
        let short = try VariableRenderer.render("{{uuid.uuid4().hex[:4]}}", field: "args.name", context: Self.context)
        #expect(short.count == 4 && short.allSatisfy(\.isHexDigit))
        let full = try VariableRenderer.render("{{ uuid.uuid4() }}", field: "f", context: Self.context)
        #expect(full.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(Array(full)[14] == "4")
        let pair = try VariableRenderer.render("{{ uuid.uuid4().hex }} {{ uuid.uuid4().hex }}", field: "f", context: Self.context)
        let parts = pair.split(separator: " ")
        #expect(parts.count == 2 && parts[0] != parts[1] && parts[0].count == 32)
        #expect(try VariableRenderer.render("{{ str(uuid.uuid4()) | length }}", field: "f", context: Self.context) == "36")
    }

    @Test(arguments: [
        ("{{ unknwn }}", "args.x, column 4: unknown name \"unknwn\" in {{ unknwn }}"),
        ("run {{ pipeline_name.nope }}", "args.x, column 21: 'str' object has no attribute 'nope' in {{ pipeline_name.nope }}"),
        ("{{ 1 + }}", "args.x, column 8: the expression ends too early in {{ 1 + }}"),
        ("a {{ b", "args.x, column 3: \"{{\" is never closed by \"}}\" in {{ {{ b }}"),
        ("{{ runner | shout }}", "args.x, column 13: no filter named 'shout' in {{ runner | shout }}"),
        ("{{ 1 / 0 }}", "args.x, column 6: division by zero in {{ 1 / 0 }}"),
        ("{{ 'a' + 1 }}", "args.x, column 8: unsupported operand type(s) for +: 'str' and 'int' in {{ 'a' + 1 }}"),
        (
            "{{ datetime.datetime.strptime('x', '%Y') }}",
            "args.x, column 30: time data 'x' does not match format '%Y' in {{ datetime.datetime.strptime('x', '%Y') }}"
        ),
        ("{{ runner() }}", "args.x, column 10: 'str' object is not callable in {{ runner() }}"),
        ("{% if x %}", "args.x, column 1: only {% raw %} … {% endraw %} is supported, not {% if x %} in {{ if x }}"),
        ("{{ 'x' * 10000000 }}", "args.x, column 8: the result would be longer than 1048576 bytes in {{ 'x' * 10000000 }}"),
        ("{{ runner[9] }}", "args.x, column 10: string index out of range in {{ runner[9] }}"),
    ])
    func errorsNameTheFieldColumnAndExpression(_ text: String, _ message: String) {
        #expect(throws: VariableError.self) { try VariableRenderer.render(text, field: "args.x", context: Self.context) }
        do {
            _ = try VariableRenderer.render(text, field: "args.x", context: Self.context)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func savingChecksSyntaxAndNamesButAllowsDefaults() {
        let known = VariableRenderer.runNames.union(["DATA_DIR"])
        #expect(
            VariableRenderer.problems(in: "{{ DATA_DIR }}/{{ missing | default('x') }}/{{ uuid.uuid4().hex }}", field: "f", known: known)
                .isEmpty)
        let problems = VariableRenderer.problems(in: "{{ dataset }} and {{ 1 + }}", field: "spec.tasks[a].args.cmd", known: known)
        #expect(
            problems.map(\.description) == [
                "spec.tasks[a].args.cmd, column 4: unknown name \"dataset\" in {{ dataset }}",
                "spec.tasks[a].args.cmd, column 26: the expression ends too early in {{ 1 + }}",
            ])
        #expect(VariableRenderer.problems(in: "no braces at all", field: "f", known: known).isEmpty)
    }

    @Test func deepNestingAndLongExpressionsAreErrorsNotCrashes() {
        let deep = "{{ " + String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500) + " }}"
        #expect(throws: VariableError.self) { try VariableRenderer.render(deep, field: "f", context: Self.context) }
        let nots = "{{ " + String(repeating: "not ", count: 1000) + "1 }}"
        #expect(throws: VariableError.self) { try VariableRenderer.render(nots, field: "f", context: Self.context) }
        let long = "{{ " + String(repeating: "1 + ", count: 3000) + "1 }}"
        #expect(throws: VariableError.self) { try VariableRenderer.render(long, field: "f", context: Self.context) }
        let list = "{{ [1] * 1000000 }}"
        #expect(throws: VariableError.self) { try VariableRenderer.render(list, field: "f", context: Self.context) }
    }

    /// Arithmetic at the limits of 64 bits ends as a render error naming the field — it used to trap (Swift overflow)
    /// and take the server or orchestrator down, and a schedule tick interrupted that way crash-looped every start.
    @Test(arguments: [
        ("{{ 'ab' * 9223372036854775807 }}", "longer than"),
        ("{{ 9223372036854775807 * 'ab' }}", "longer than"),
        ("{{ [1, 2] * 9223372036854775807 }}", "too long"),
        ("{{ datetime.timedelta(days=99999999) + datetime.timedelta(days=99999999) }}", "too large"),
        ("{{ datetime.timedelta(days=-99999999) - datetime.timedelta(days=99999999) }}", "too large"),
        ("{{ datetime.timedelta(days=99999999) * 2 }}", "too large"),
        // Exactly Int64.min microseconds: no overflow reported, and abs() of it would trap (found by the fuzz test).
        ("{{ datetime.timedelta(microseconds=-4294967296) * 2147483648 }}", "too large"),
        ("{{ datetime.timedelta(microseconds=1) * 9223372036854775807 }}", "too large"),
        ("{{ datetime.timedelta(days=1e300) }}", "too large"),
        ("{{ datetime.datetime(9999, 12, 31) + datetime.timedelta(days=99999999) }}", "out of range"),
        ("{{ datetime.datetime(1, 1, 1) - datetime.timedelta(days=99999999) }}", "out of range"),
        ("{{ datetime.timedelta(days=99999999) + datetime.datetime(9999, 12, 31) }}", "out of range"),
        ("{{ datetime.datetime(9999, 12, 31).date() + datetime.timedelta(days=99999999) }}", "out of range"),
        ("{{ macros.ds_add(ds, 9223372036854775807) }}", "too large"),
        ("{{ macros.ds_add(ds, -9223372036854775807) }}", "too large"),
        ("{{ macros.ds_add(ds, 90000000) }}", "out of range"),
        ("{{ 9223372036854775807 + 1 }}", "too large"),
        ("{{ -9223372036854775807 - 2 }}", "too large"),
        ("{{ (-9223372036854775807 - 1) // -1 }}", "too large"),
        ("{{ -(-9223372036854775807 - 1) }}", "too large"),
        ("{{ ('x' * 1048576).replace('', 'yy') }}", "too long"),
        ("{{ ds.replace('', 'x' * 1000000) }}", "too long"),
        ("{{ ('x' * 1000).replace('x', 'y' * 100000) }}", "too long"),
        ("{{ ds.zfill(9223372036854775807) }}", "too large"),
        ("{{ datetime.datetime(2026, 1, 1).strftime('%A' * 500000) }}", "longer than"),
    ])
    func arithmeticAtTheLimitsIsARenderError(_ text: String, _ message: String) {
        do {
            let rendered = try VariableRenderer.render(text, field: "spec.env.X", context: Self.context)
            Issue.record("\(text) rendered \(rendered.prefix(80))")
        } catch {
            #expect(error.field == "spec.env.X" && error.description.contains(message), "\(text) → \(error)")
        }
    }

    /// Near the limits, what Python answers.
    @Test(arguments: [
        ("{{ 'abc'[1::9223372036854775807] }}", "b"),
        ("{{ 'abc'[::-9223372036854775807] }}", "c"),
        ("{{ [1, 2, 3][-9223372036854775807:9223372036854775807] }}", "[1, 2, 3]"),
        ("{{ 'abc'.replace('', '-') }}", "-a-b-c-"),
        ("{{ 'abc'.replace('', '-', 2) }}", "-a-bc"),
        ("{{ ''.replace('', '-') }}", "-"),
        ("{{ -9223372036854775807 - 1 }}", "-9223372036854775808"),
        ("{{ macros.ds_add(ds, -739948) }}", "0001-01-01"),
        ("{{ 'ab' * -9223372036854775807 }}", ""),
    ])
    func nearTheLimitsRendersAsPythonDoes(_ text: String, _ expected: String) throws {
        #expect(try VariableRenderer.render(text, field: "f", context: Self.context) == expected)
    }

    /// Random text from the template language's own pieces, from a seed printed first (set TRELLIS_FUZZ_SEED to replay a
    /// failure): nothing crashes or hangs, every refusal names the field and a column, and text without `{` comes back
    /// as it was.
    @Test(.timeLimit(.minutes(1))) func randomInputNeverCrashesOrHangs() {
        let alphabet =
            Array("{}%()[]'\".:,|+-*/~<>=! abcxyz019_\\\n")
            + ["{{", "}}", "{%", "%}", " if ", " else ", " and ", "not ", "raw", "endraw"].flatMap { Array($0) }
        let seed = ProcessInfo.processInfo.environment["TRELLIS_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("randomInputNeverCrashesOrHangs: TRELLIS_FUZZ_SEED=\(seed)")
        var generator = SplitMix64(seed: seed)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...60, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            for candidate in [text, "{{ " + text + " }}"] {
                do throws(VariableError) {
                    let rendered = try VariableRenderer.render(candidate, field: "f", context: Self.context)
                    if !candidate.contains("{") { #expect(rendered == candidate, "seed \(seed): \(candidate.debugDescription)") }
                } catch {
                    #expect(error.field == "f" && error.column >= 1, "seed \(seed): \(candidate.debugDescription) → \(error)")
                }
            }
            for problem in VariableRenderer.problems(in: text, field: "f", known: VariableRenderer.runNames) {
                #expect(problem.field == "f" && problem.column >= 1, "seed \(seed): \(text.debugDescription) → \(problem)")
            }
        }
    }

    /// Expressions of huge integers, lengths, dates and timedeltas joined by every operator, from a seed printed first:
    /// each renders or is refused naming the field — none traps the process. Its operands reach a megabyte, so an
    /// expression can take milliseconds: 600 of them, and the time limit only guards against a hang on a machine busy
    /// with the rest of the suite.
    @Test(.timeLimit(.minutes(5))) func hugeNumbersAndLengthsNeverTrap() {
        let operands = [
            "9223372036854775807", "-9223372036854775807", "(-9223372036854775807 - 1)", "4611686018427387904", "-1", "0", "2", "1e308",
            "'ab'", "('x' * 1048576)", "[1, 2]", "ds", "datetime.timedelta(days=99999999)", "datetime.timedelta(days=-99999999)",
            "datetime.timedelta(microseconds=1)", "datetime.datetime(9999, 12, 31, 23, 59, 59)", "datetime.datetime(1, 1, 1)",
            "datetime.datetime(1, 1, 1).date()", "macros.ds_add(ds, 9223372036854775807)",
        ]
        let operators = ["+", "-", "*", "/", "//", "%", "~", "<", "==", "in"]
        let suffixes = [
            "", "[1::9223372036854775807]", "[::-9223372036854775807]", "[9223372036854775807]", ".replace('', 'yy')", ".zfill(1048576)",
            " | int", " | length", " | string",
        ]
        let seed = ProcessInfo.processInfo.environment["TRELLIS_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("hugeNumbersAndLengthsNeverTrap: TRELLIS_FUZZ_SEED=\(seed)")
        var generator = SplitMix64(seed: seed)
        for _ in 0..<600 {
            var expression = operands.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let next = operands.randomElement(using: &generator)! + suffixes.randomElement(using: &generator)!
                expression = "(\(expression)) \(operators.randomElement(using: &generator)!) \(next)"
            }
            let text = "{{ \(expression) }}"
            do throws(VariableError) {
                let rendered = try VariableRenderer.render(text, field: "f", context: Self.context)
                #expect(rendered.utf8.count <= 1 << 20, "seed \(seed): \(text)")
            } catch {
                #expect(error.field == "f" && error.column >= 1, "seed \(seed): \(text) → \(error)")
            }
        }
    }
}

/// A small seeded generator (SplitMix64), so a random test can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
