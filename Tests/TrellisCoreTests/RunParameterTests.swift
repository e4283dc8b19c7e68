import Foundation
import Testing
import TrellisCore

@Suite struct RunParameterTests {
    static let declared = [
        PipelineSpec.Parameter(name: "sample", default: "0.1", description: "fraction of the data"),
        PipelineSpec.Parameter(name: "target"),
    ]

    @Test func givenValuesOverrideDefaultsAndScalarsReadAsText() throws {
        #expect(try RunParameters.resolve(["target": .string("prod")], declared: Self.declared) == ["sample": "0.1", "target": "prod"])
        #expect(
            try RunParameters.resolve(["target": .bool(true), "sample": .double(0.5)], declared: Self.declared) == [
                "sample": "0.5", "target": "true",
            ])
        #expect(try RunParameters.resolve(nil, declared: []) == [:])
    }

    @Test func badValuesNameTheirParameter() {
        func fields(_ given: [String: JSONValue]?) -> [String] {
            do {
                _ = try RunParameters.resolve(given, declared: Self.declared)
                return []
            } catch { return error.errors.map(\.field) }
        }
        #expect(fields(nil) == ["parameters.target"])
        #expect(fields(["target": .array([.int(1)])]) == ["parameters.target"])
        #expect(fields(["target": .string("x"), "nope": .int(1)]) == ["parameters.nope"])
        #expect(fields(["target": .string(String(repeating: "x", count: 70_000))]) == ["parameters.target"])
        do {
            _ = try RunParameters.resolve(["x": .int(1)], declared: [])
            Issue.record("a pipeline without parameters took one")
        } catch {
            #expect(error.errors.first?.message.contains("declares none") == true)
        }
    }

    @Test func declarationsAreValidatedAndParamsChecked() throws {
        let yaml = #"""
            {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"},
             "spec": {"parameters": [{"name": "sample", "default": 0.1}, {"name": "sample"}, {"name": "bad-name"}],
                      "tasks": [{"name": "a", "template": "shell",
                                 "args": {"command": "echo {{ params.sample }} {{ params['target'] }} {{ params.other | default('x') }}"}}]}}
            """#
        let spec = try JSONDecoder().decode(PipelineSpec.self, from: Data(yaml.utf8))
        #expect(spec.spec.parameters?.first?.default == "0.1", "a number is kept as its text")
        let problems = spec.problems { _ in PipelineValidationTests.shell }
        #expect(problems.map(\.field).contains("spec.parameters[1].name"))
        #expect(problems.map(\.field).contains("spec.parameters[2].name"))
        let unknown = problems.filter { $0.message.contains("unknown parameter") }.map(\.message)
        #expect(
            unknown.count == 2 && unknown.contains { $0.contains("\"target\"") } && unknown.contains { $0.contains("\"other\"") },
            "\(problems)")
        // Without declarations, `params` is no name at all.
        let bare = try JSONDecoder().decode(
            PipelineSpec.self,
            from: Data(
                #"{"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"}, "spec": {"tasks": [{"name": "a", "template": "shell", "args": {"command": "{{ params.x }}"}}]}}"#
                    .utf8))
        #expect(bare.problems { _ in PipelineValidationTests.shell }.contains { $0.message.contains("unknown name \"params\"") })
    }

    @Test func aRunsParametersRender() throws {
        var context = VariableTests.context
        context.variables["params"] = .namespace("params")
        context.parameters = ["sample": "0.5", "target": "prod"]
        #expect(try VariableRenderer.render("{{ params.sample }}/{{ params['target'] }}", field: "f", context: context) == "0.5/prod")
        #expect(try VariableRenderer.render("{{ params.sample + '%' if params.target == 'prod' }}", field: "f", context: context) == "0.5%")
        #expect(throws: VariableError.self) { try VariableRenderer.render("{{ params.other }}", field: "f", context: context) }
    }

    @Test func aPlanTakesTheDefaultsWhenTheRunGivesNone() throws {
        let yaml = #"""
            {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"},
             "spec": {"parameters": [{"name": "sample", "default": "0.1"}],
                      "tasks": [{"name": "a", "template": "shell", "args": {"command": "echo {{ params.sample }}"}}]}}
            """#
        let version = PipelineVersion(
            pipeline: "p", version: 1, spec: try JSONDecoder().decode(PipelineSpec.self, from: Data(yaml.utf8)), taskIDs: [:],
            templates: ["a": "shell@1.0.0"], createdBy: "olga", createdAt: Date())
        var variables = RunVariables(project: "ml", runner: "olga", runID: "r", createdAt: 0, executionDate: 0, randomBytes: { [] })
        let scheduled = try RunPlan(pipeline: version, templates: ["a": PipelineValidationTests.shell], variables: variables)
        #expect(scheduled.parameters == ["sample": "0.1"] && scheduled.tasks[0].command.joined(separator: " ").contains("echo 0.1"))
        variables.parameters = ["sample": "0.9"]
        let manual = try RunPlan(pipeline: version, templates: ["a": PipelineValidationTests.shell], variables: variables)
        #expect(
            manual.parameters == ["sample": "0.9"] && manual.tasks[0].command.joined(separator: " ").contains("echo 0.9"),
            "\(manual.tasks[0].command)")
    }

    @Test func aNameAskedIsDefinedIsNoProblem() {
        #expect(VariableRenderer.problems(in: "{{ x if x is defined else 'y' }}", field: "f", known: []).isEmpty)
        #expect(VariableRenderer.problems(in: "{{ params.extra is defined }}", field: "f", known: [], parameters: ["a"]).isEmpty)
        #expect(VariableRenderer.problems(in: "{{ x }} {{ y is none }}", field: "f", known: []).map(\.message).count == 2)
        #expect(
            VariableRenderer.problems(in: "{{ x is bogus(1, 2) }}", field: "f", known: ["x"]).map(\.message) == ["no test named \"bogus\""])
    }
}
