import ArgumentParser
import Foundation
import TemplateRegistry
import Yams

struct Template: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with task templates.",
        subcommands: [
            ListTemplates.self, GetTemplate.self, PublishTemplate.self, UnpublishTemplate.self, DeprecateTemplate.self, TemplateUsage.self,
            ImportCube.self,
        ]
    )
}

struct ImportCube: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-cube",
        abstract: "Convert cube-studio job templates (init-job-template.json or one entry of it) into Trellis template files.",
        discussion:
            "Writes NAME.yaml per template into --out and reports what could not be carried over as it was. Register the files with `POST /api/v1/projects/{project}/templates` (Content-Type: application/yaml)."
    )

    @Argument(help: "The cube-studio JSON file.")
    var file: String

    @Option(help: "Folder for the Trellis template files.")
    var out: String = "."

    func run() async throws {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let converted: [CubeImport.Converted]
        do {
            converted = try CubeImport.convert(text)
        } catch {
            throw ValidationError("\(file): \(error)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let encoder = YAMLEncoder()
        encoder.options.allowUnicode = true
        for template in converted {
            let path = URL(fileURLWithPath: out).appendingPathComponent("\(template.spec.name).yaml").path
            try encoder.encode(template.spec).write(toFile: path, atomically: true, encoding: .utf8)
            print("\(template.spec.name): wrote \(path)")
            for note in template.notes { print("  - \(note)") }
        }
    }
}
