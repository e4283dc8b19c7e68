import Foundation
import Testing
import TrellisCore

@Suite struct ParameterSchemaTests {
    static let options = Parameter(
        name: "opts", type: .dict,
        params: [
            Parameter(name: "lr", type: .float, default: .double(0.01), range: [0, 1]),
            Parameter(name: "optimizer", type: .enum, default: .string("adam"), choices: [.string("adam"), .string("sgd")]),
        ]
    )

    /// (parameter, a valid value, what it converts to, an invalid value, the start of the error message)
    static let cases: [(Parameter, JSONValue, JSONValue, JSONValue, String)] = [
        (
            Parameter(name: "title", type: .str, regex: "[a-z ]+"), .string("  hello world "), .string("hello world"), .string("Hello!"),
            "\"Hello!\" does not match [a-z ]+"
        ),
        // The pattern that stalls backtracking engines, on the text that makes it: answered, linearly.
        (
            Parameter(name: "name", type: .str, regex: "(a+)+$"), .string("aaaa"), .string("aaaa"),
            .string(String(repeating: "a", count: 40) + "!"), "\"\(String(repeating: "a", count: 40))!\" does not match (a+)+$"
        ),
        (Parameter(name: "script", type: .text), .string("print(1)\n"), .string("print(1)\n"), .array([]), "must be a string, got a list"),
        (
            Parameter(name: "epochs", type: .int, range: [1, 100]), .string("42"), .int(42), .string("ten"),
            "must be a whole number, got \"ten\""
        ),
        (Parameter(name: "rate", type: .float, range: [0, 1]), .int(1), .double(1), .double(1.5), "must be between 0.0 and 1.0, got 1.5"),
        (Parameter(name: "verbose", type: .bool), .string("yes"), .bool(true), .string("maybe"), "must be true or false, got \"maybe\""),
        (
            Parameter(name: "mode", type: .enum, choices: [.string("fast"), .string("slow")]), .string("slow"), .string("slow"),
            .string("medium"), "must be one of fast, slow, got medium"
        ),
        (
            Parameter(name: "gpus", type: .enum, choices: [.int(1), .int(2), .int(4)], itemType: .int), .string("2"), .int(2), .int(3),
            "must be one of 1, 2, 4, got 3"
        ),
        (
            Parameter(name: "metrics", type: .multiple, choices: [.string("auc"), .string("f1"), .string("loss")]), .string("auc; f1,auc"),
            .array([.string("auc"), .string("f1")]), .string("auc,recall"), "must be one of auc, f1, loss, got recall"
        ),
        (
            Parameter(name: "sizes", type: .list, itemType: .int), .string("1,2, 3"), .array([.int(1), .int(2), .int(3)]),
            .array([.int(1), .string("x")]), "must be a whole number, got \"x\""
        ),
        (
            Parameter(name: "config", type: .json), .string(#"{"depth": 5}"#), .object(["depth": .int(5)]), .string("{depth"),
            "must be JSON, got \"{depth\""
        ),
        (
            options, .object(["lr": .string("0.5")]), .object(["lr": .double(0.5), "optimizer": .string("adam")]), .object(["lr": .int(2)]),
            "must be between 0.0 and 1.0, got 2"
        ),
        (Parameter(name: "data", type: .file), .string("/mnt/data.csv"), .string("/mnt/data.csv"), .string("  "), "must be a file path"),
    ]

    @Test(arguments: 0..<12)
    func everyTypeConvertsGoodValuesAndNamesBadOnes(_ index: Int) throws {
        let (parameter, good, converted, bad, message) = Self.cases[index]
        let schema = ParameterSchema([ParameterGroup(group: "main", params: [parameter])])
        #expect(schema.problems() == [])
        let resolved = try schema.resolve([parameter.name: good], field: "tasks[train].args")
        #expect(resolved == [ResolvedArgument(name: parameter.name, type: parameter.type, value: converted)])
        #expect {
            try schema.resolve([parameter.name: bad], field: "tasks[train].args")
        } throws: { error in
            let errors = (error as! ValidationErrors).errors
            return errors.count == 1 && errors[0].field.hasPrefix("tasks[train].args.\(parameter.name)")
                && errors[0].message.hasPrefix(message)
        }
    }

    @Test func everyTypeIsCovered() {
        #expect(Set(Self.cases.map(\.0.type)) == Set(ParameterType.allCases))
    }

    @Test func requiredDefaultsAndUnknownArguments() throws {
        let schema = ParameterSchema([
            ParameterGroup(
                group: "train",
                params: [
                    Parameter(name: "epochs", type: .int, required: true, default: .int(10)),
                    Parameter(name: "dataset", type: .str, required: true),
                    Parameter(name: "seed", type: .int),
                ])
        ])
        let resolved = try schema.resolve(["dataset": .string("mnist")], field: "args")
        #expect(resolved.map(\.name) == ["epochs", "dataset"])
        #expect(resolved.first?.value == .int(10))
        #expect {
            try schema.resolve(["epoch": .int(3), "lr": .double(0.1)], field: "tasks[train].args")
        } throws: { error in
            (error as! ValidationErrors).errors.map(\.description) == [
                "tasks[train].args.epoch: unknown parameter (known: epochs, dataset, seed)",
                "tasks[train].args.lr: unknown parameter (known: epochs, dataset, seed)",
                "tasks[train].args.dataset: is required",
            ]
        }
    }

    @Test func everyProblemInsideADictIsReported() {
        let schema = ParameterSchema([ParameterGroup(group: "g", params: [Self.options])])
        #expect {
            try schema.resolve(["opts": .object(["lr": .string("fast"), "optimizer": .string("adamw"), "momentum": .int(1)])], field: "a")
        } throws: { error in
            (error as! ValidationErrors).errors.map(\.field) == ["a.opts.momentum", "a.opts.lr", "a.opts.optimizer"]
        }
    }

    @Test func showIfHidesParametersAndTheirRequirement() throws {
        let schema = ParameterSchema([
            ParameterGroup(
                group: "g",
                params: [
                    Parameter(name: "mode", type: .enum, default: .string("fast"), choices: [.string("fast"), .string("slow")]),
                    Parameter(name: "steps", type: .int, required: true, showIf: "mode == slow"),
                ])
        ])
        #expect(try schema.resolve([:], field: "a").map(\.name) == ["mode"])
        #expect(try schema.resolve(["steps": .int(5)], field: "a").map(\.name) == ["mode"])
        #expect(throws: ValidationErrors([ValidationError(field: "a.steps", "is required")])) {
            try schema.resolve(["mode": .string("slow")], field: "a")
        }
        #expect(try schema.resolve(["mode": .string("slow"), "steps": .int(5)], field: "a").map(\.name) == ["mode", "steps"])
    }

    @Test func malformedSchemasAreRefusedNamingTheField() {
        let schema = ParameterSchema([
            ParameterGroup(
                group: "g",
                params: [
                    Parameter(name: "mode", type: .enum),
                    Parameter(name: "mode", type: .str),
                    Parameter(name: "n", type: .int, default: .string("many"), range: [5, 1]),
                    Parameter(name: "code", type: .str, regex: "(unclosed"),
                    Parameter(name: "opts", type: .dict),
                    Parameter(name: "shown", type: .str, showIf: "missing == 1"),
                    Parameter(name: "--flag", type: .bool),
                    Parameter(name: "pick", type: .enum, choices: [.string("a")], itemType: .int),
                ])
        ])
        #expect(
            schema.problems().map(\.description) == [
                "parameters[0].params[0].choices: a enum parameter needs at least one choice",
                "parameters[0].params[1].name: \"mode\" is defined twice",
                "parameters[0].params[2].range: must be [min, max] with min <= max",
                "parameters[0].params[3].regex: \"(unclosed\" is not a pattern Trellis matches: missing ), unterminated subpattern at position 1",
                "parameters[0].params[4].params: a dict needs its params",
                "parameters[0].params[5].showIf: names no other parameter \"missing\"",
                "parameters[0].params[6].name: \"--flag\" must be letters, digits, '_' and '-', not starting with '-'",
                "parameters[0].params[7].choices[0]: must be a whole number, got \"a\"",
            ])
        let badDefault = ParameterSchema([ParameterGroup(group: "g", params: [Parameter(name: "n", type: .int, default: .string("many"))])])
        #expect(badDefault.problems().map(\.description) == ["parameters[0].params[0].default: must be a whole number, got \"many\""])
    }
}

@Suite struct TaskInvocationTests {
    @Test func argumentsBecomeFlagsInSchemaOrder() throws {
        let schema = ParameterSchema([
            ParameterGroup(
                group: "g",
                params: [
                    Parameter(name: "epochs", type: .int),
                    Parameter(name: "verbose", type: .bool),
                    Parameter(name: "dry-run", type: .bool),
                    Parameter(name: "metrics", type: .multiple, choices: [.string("auc"), .string("f1")]),
                    Parameter(name: "config", type: .json),
                    Parameter(name: "opts", type: .dict, params: [Parameter(name: "lr", type: .float)]),
                    Parameter(name: "name", type: .str),
                ])
        ])
        let resolved = try schema.resolve(
            [
                "name": .string("run one"), "epochs": .int(3), "verbose": .bool(true), "dry-run": .bool(false),
                "metrics": .array([.string("f1"), .string("auc")]), "config": .object(["b": .int(1), "a": .string("x")]),
                "opts": .object(["lr": .double(0.5)]),
            ],
            field: "args"
        )
        #expect(
            TaskInvocation.flags(resolved) == [
                "--epochs", "3", "--verbose", "--metrics", "f1,auc", "--config", #"{"a":"x","b":1}"#, "--opts", #"{"lr":0.5}"#,
                "--name", "run one",
            ])
    }

    @Test func taskEnvironmentBeatsPipelineBeatsTemplate() {
        let env = TaskInvocation.environment(
            template: ["A": "template", "B": "template", "C": "template"], pipeline: ["B": "pipeline", "C": "pipeline"], task: ["C": "task"]
        )
        #expect(env == ["A": "template", "B": "pipeline", "C": "task"])
    }

    @Test func mountsParseMergeAndRefuseConflicts() throws {
        let workspace = try Mount(parsing: "kubeflow-user-workspace(pvc):/mnt", field: "mounts[0]")
        #expect(workspace == Mount(source: "kubeflow-user-workspace", kind: .pvc, path: "/mnt"))
        let scratch = try Mount(parsing: "10G(memory):/dev/shm", field: "m")
        let merged = try Mount.merge(template: [workspace], task: [workspace, scratch], field: "tasks[a].mounts")
        #expect(merged == [workspace, scratch])
        #expect(
            throws: ValidationError(
                field: "tasks[a].mounts", "other(hostpath):/mnt uses /mnt, which the template mounts as kubeflow-user-workspace(pvc):/mnt")
        ) {
            try Mount.merge(template: [workspace], task: [Mount(source: "other", kind: .hostpath, path: "/mnt")], field: "tasks[a].mounts")
        }
        #expect(throws: ValidationError.self) { try Mount(parsing: "data(ceph):/data", field: "m") }
        #expect(throws: ValidationError.self) { try Mount(parsing: "data(pvc):relative", field: "m") }
        #expect(throws: ValidationError.self) { try Mount(parsing: "/mnt", field: "m") }
    }
}

@Suite struct TemplateSpecTests {
    @Test func theDesignDocumentsTemplateIsValid() throws {
        let yaml = """
            {"name": "epochs-echo", "version": "1.0.0", "category": "training", "image": "python:3.12",
             "command": ["python3", "train.py"], "workingDir": "/app",
             "parameters": [{"group": "train", "params": [
                {"name": "epochs", "type": "int", "label": "Epochs", "required": true, "default": 10, "range": [1, 100]},
                {"name": "mode", "type": "enum", "choices": ["fast", "slow"], "default": "fast"},
                {"name": "opts", "type": "dict", "params": [{"name": "lr", "type": "float", "default": 0.01}]}]}],
             "env": {"PYTHONUNBUFFERED": "1"}, "mounts": ["kubeflow-user-workspace(pvc):/mnt"],
             "serviceAccount": "pipeline-runner", "resources": {"cpu": "1~2", "memory": "2Gi", "gpu": 0}}
            """
        let spec = try JSONDecoder().decode(TemplateSpec.self, from: Data(yaml.utf8))
        #expect(spec.problems() == [])
        #expect(
            try spec.schema.resolve([:], field: "args").map(\.value) == [
                .int(10), .string("fast"), .object(["lr": .double(0.01)]),
            ])
    }

    @Test func badTemplatesNameEveryField() {
        var spec = TemplateSpec(name: "Bad Name", version: "1.0", image: "")
        spec.command = []
        spec.workingDir = "app"
        spec.env = ["1X": "y"]
        spec.mounts = ["nowhere"]
        #expect(spec.problems().map(\.field) == ["name", "version", "image", "command", "workingDir", "env.1X", "mounts[0]"])
    }

    @Test func semanticVersionsParseAndOrder() throws {
        let versions = try ["1.10.0", "1.2.0", "1.2.0-rc.10", "1.2.0-rc.2", "0.9.9"].map { try SemanticVersion(parsing: $0) }
        #expect(versions.sorted().map(\.description) == ["0.9.9", "1.2.0-rc.2", "1.2.0-rc.10", "1.2.0", "1.10.0"])
        for bad in ["1.0", "1.0.0.0", "01.0.0", "v1.0.0", "1.0.0-", ""] {
            #expect(throws: ValidationError.self) { try SemanticVersion(parsing: bad) }
        }
    }
}
