import ArgumentParser
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what a pipeline becomes elsewhere.", subcommands: [ExportArgo.self])
}

struct ExportArgo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "argo",
        abstract: "Print the Argo Workflow a run of the pipeline's current version would be on Kubernetes (YAML).")
    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    @Flag(help: "JSON instead of YAML.")
    var json = false

    func run() async throws {
        let (_, data) = try await APIClient(options: server).send(.GET, try target.path() + "/argo" + (json ? "?format=json" : ""))
        FileHandle.standardOutput.write(data)
    }
}
