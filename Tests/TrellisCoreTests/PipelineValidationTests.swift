import Foundation
import Testing
import TrellisCore

@Suite struct PipelineValidationTests {
    static let shell: TemplateSpec = {
        var spec = TemplateSpec(name: "shell", version: "1.0.0", image: "debian")
        spec.parameters = [
            ParameterGroup(
                group: "shell",
                params: [
                    Parameter(name: "command", type: .text, required: true),
                    Parameter(name: "workdir", type: .str, default: .string("/tmp")),
                ])
        ]
        spec.mounts = ["workspace(pvc):/mnt"]
        return spec
    }()

    static func find(_ reference: TemplateReference) -> TemplateSpec? {
        reference.name == "shell" && (reference.version ?? "1.0.0") == "1.0.0" ? shell : nil
    }

    static func pipeline(_ yaml: String) throws -> PipelineSpec {
        try JSONDecoder().decode(PipelineSpec.self, from: Data(yaml.utf8))
    }

    static func task(_ name: String, _ dependsOn: [String] = [], extra: String = "") -> String {
        #"{"name": "\#(name)", "template": "shell", "args": {"command": "echo \#(name)"}, "dependsOn": \#(dependsOn)\#(extra)}"#
    }

    static func document(_ tasks: [String]) -> String {
        #"{"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "daily", "project": "ml"}, "spec": {"parallelism": 2, "tasks": [\#(tasks.joined(separator: ","))]}}"#
    }

    @Test func aDiamondIsValid() throws {
        let diamond = try Self.pipeline(
            Self.document([Self.task("a"), Self.task("b", ["a"]), Self.task("c", ["a"]), Self.task("d", ["b", "c"])]))
        #expect(diamond.problems(template: Self.find) == [])
        #expect(diamond.dependencyCycle() == nil)
    }

    @Test func aCycleIsNamedInRunOrder() throws {
        let cyclic = try Self.pipeline(
            Self.document([Self.task("a", ["c"]), Self.task("b", ["a"]), Self.task("c", ["b"]), Self.task("d")]))
        #expect(cyclic.dependencyCycle() == ["a", "b", "c", "a"])
        #expect(cyclic.problems(template: Self.find).map(\.description) == ["spec.tasks: dependency cycle: a → b → c → a"])
    }

    @Test func everyTaskProblemNamesTheTaskAndField() throws {
        let broken = try Self.pipeline(
            Self.document([
                Self.task("a", ["a", "ghost"]),
                Self.task("a"),
                #"{"name": "b", "template": "shell@9.9.9"}"#,
                #"{"name": "c", "template": "shell", "args": {"command": "x", "workdir": 5, "colour": "red"}}"#,
                Self.task(
                    "d",
                    extra:
                        #", "retry": {"limit": 500, "backoff": {"duration": "10s", "factor": 0.5, "maxDuration": "5s"}}, "timeout": "ten minutes""#
                ),
                Self.task("e", extra: #", "replicas": 0, "resources": {"cpu": "4~2", "memory": "lots", "gpu": -1}, "env": {"1BAD": "x"}"#),
                Self.task("f", extra: #", "mounts": ["other(hostpath):/mnt"]"#),
            ])
        )
        #expect(
            broken.problems(template: Self.find).map(\.description) == [
                "spec.tasks[1].name: duplicate task name \"a\"",
                "spec.tasks[a].dependsOn: a task cannot depend on itself",
                "spec.tasks[a].dependsOn: unknown task \"ghost\"",
                "spec.tasks[b].template: no template \"shell@9.9.9\" is available to this project",
                "spec.tasks[c].args.colour: unknown parameter (known: command, workdir)",
                "spec.tasks[d].retry.limit: must be between 0 and 100",
                "spec.tasks[d].retry.backoff.factor: must be between 1 and 10",
                "spec.tasks[d].retry.backoff.maxDuration: must not be shorter than the backoff duration",
                "spec.tasks[d].timeout: \"ten minutes\" is not a duration such as 30s, 10m or 1h30m",
                "spec.tasks[e].replicas: must be between 1 and 1000",
                "spec.tasks[e].resources.cpu: the request 4 is above the limit 2",
                "spec.tasks[e].resources.memory: \"lots\" is not a memory amount such as 4Gi, 512Mi or 2G",
                "spec.tasks[e].resources.gpu: must not be negative",
                "spec.tasks[e].env.1BAD: is not a valid environment variable name",
                "spec.tasks[f].mounts: other(hostpath):/mnt uses /mnt, which the template mounts as workspace(pvc):/mnt",
                "spec.tasks: dependency cycle: a → a",
            ])
    }

    @Test func documentAndPipelineLevelFieldsAreChecked() throws {
        var pipeline = try Self.pipeline(Self.document([Self.task("a")]))
        pipeline.apiVersion = "v1"
        pipeline.kind = "Workflow"
        pipeline.metadata.name = "Daily Train"
        pipeline.spec.parallelism = 0
        pipeline.spec.env = ["OK": "1", "NOT-OK": "2"]
        #expect(
            pipeline.problems(template: Self.find).map(\.field) == [
                "apiVersion", "kind", "metadata.name", "spec.parallelism", "spec.env.NOT-OK",
            ])
        pipeline.spec.tasks = []
        #expect(pipeline.problems(template: Self.find).map(\.field).last == "spec.tasks")
    }

    @Test func durationsAndQuantitiesParse() throws {
        #expect(try DurationText.parse("1h30m", field: "t") == .seconds(5400))
        #expect(try DurationText.parse("500ms", field: "t") == .milliseconds(500))
        #expect(try DurationText.parse("2d", field: "t") == .seconds(172_800))
        for bad in ["", "10", "5 min", "1x", "m5"] {
            #expect(throws: ValidationError.self) { try DurationText.parse(bad, field: "t") }
        }
        #expect(try ResourceQuantity.range("500m~2", field: "cpu", parse: ResourceQuantity.cpu) == 500...2000)
        #expect(try ResourceQuantity.range("4Gi", field: "memory", parse: ResourceQuantity.memory) == 4_294_967_296...4_294_967_296)
        #expect(try ResourceQuantity.memory("2G", field: "m") == 2_000_000_000)
    }

    @Test func schedulesAreCheckedField() throws {
        let good = try Self.pipeline(
            #"{"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"}, "spec": {"tasks": [\#(Self.task("a"))], "schedule": {"cron": "0 2 * * *", "timezone": "Asia/Shanghai", "startTime": "2026-11-01T00:00:00", "maxActiveRuns": 3}}}"#
        )
        #expect(good.problems(template: Self.find).isEmpty)
        let bad = try Self.pipeline(
            #"{"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"}, "spec": {"tasks": [\#(Self.task("a"))], "schedule": {"cron": "0 25 * * *", "timezone": "Mars/Olympus", "startTime": "soon", "maxActiveRuns": 0, "expiredLimit": -1}}}"#
        )
        #expect(
            bad.problems(template: Self.find).map(\.description) == [
                "spec.schedule.cron: hour: 25 is outside 0–23",
                "spec.schedule.timezone: \"Mars/Olympus\" is not an IANA time zone such as Asia/Shanghai",
                "spec.schedule.startTime: \"soon\" is not a date and time such as 2026-11-01T00:00:00",
                "spec.schedule.maxActiveRuns: must be at least 1",
                "spec.schedule.expiredLimit: must not be negative (0 keeps every pending tick)",
            ])
        let zone = try #require(TimeZone(identifier: "Asia/Shanghai"))
        #expect(
            PipelineSpec.Schedule.parseStartTime("2026-11-01T00:00:00", in: zone) == (try Date("2026-10-31T16:00:00Z", strategy: .iso8601)))
    }
}
