import Foundation
import PackagePlugin

/// Compiles a folder of the package into a target as Swift source, so that the binaries carry it and work
/// from any directory: a service library gets `migrations/<service>/` as `EmbeddedMigrations.files`,
/// the gateway gets the portal (`Web/`) as `EmbeddedWeb.files` and `docs/` (the OpenAPI document) as `EmbeddedDocs.files`.
@main
struct EmbedFiles: BuildToolPlugin {
    /// Target → (folder of the package, generated type name) for each folder it carries.
    static let folders: [String: [(path: String, typeName: String)]] = [
        "Identity": [("migrations/identity", "EmbeddedMigrations")],
        "TemplateRegistry": [("migrations/templates", "EmbeddedMigrations")],
        "PipelineStore": [("migrations/pipelines", "EmbeddedMigrations")],
        "RunOrchestrator": [("migrations/orchestrator", "EmbeddedMigrations")],
        "ClusterGateway": [("migrations/cluster-gateway", "EmbeddedMigrations")],
        "MetricsCollector": [("migrations/metrics", "EmbeddedMigrations")],
        "Gateway": [("Web", "EmbeddedWeb"), ("docs", "EmbeddedDocs")],
    ]

    struct UnknownTarget: Error, CustomStringConvertible {
        let name: String
        var description: String { "EmbedFiles: no folder is known for target \(name)" }
    }

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let folders = Self.folders[target.name] else { throw UnknownTarget(name: target.name) }
        let tool = try context.tool(named: "embed-files").url
        return folders.map { path, typeName in
            let root = context.package.directoryURL.appending(path: path)
            let inputs = (FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.allObjects ?? [])
                .compactMap { $0 as? URL }
            let output = context.pluginWorkDirectoryURL.appending(path: "\(typeName).swift")
            return .buildCommand(
                displayName: "Embedding \(path)/ into \(target.name)",
                executable: tool,
                arguments: [output.path, typeName, root.path],
                inputFiles: [root] + inputs,
                outputFiles: [output]
            )
        }
    }
}
