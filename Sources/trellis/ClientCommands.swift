import ArgumentParser
import Foundation
import TrellisCore
import Yams

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log in and save the access token for the other commands.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The user name.")
    var username: String

    func run() async throws {
        guard let password = ProcessInfo.processInfo.environment["TRELLIS_PASSWORD"] ?? readLine(strippingNewline: true) else {
            throw ValidationError("give the password on standard input or in TRELLIS_PASSWORD")
        }
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        let (_, data) = try await APIClient(options: server).send(.POST, "/api/v1/auth/login", body: body, authenticated: false)
        struct Login: Decodable { let token: String }
        let token = try JSONDecoder().decode(Login.self, from: data).token
        let file = ServerOptions.tokenFile
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: file.path, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(file.path)")
        }
        print("Logged in to \(server.serverURL) as \(username); token saved in \(file.path)")
    }
}

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update what a file describes: a pipeline (kind: Pipeline) or a template (registered in --project).",
        discussion:
            "Applying the same file twice changes nothing; a changed pipeline gets a new version. A published template version cannot change: bump its version."
    )

    @OptionGroup var server: ServerOptions

    @Option(name: .customShort("f"), help: "A pipeline or template file, YAML or JSON.")
    var file: String

    @Option(help: "The project (a pipeline's default: its metadata.project).")
    var project: String?

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let text = String(decoding: data, as: UTF8.self)
        let document = try? Yams.load(yaml: text) as? [String: Any]
        let contentType = file.hasSuffix(".json") ? "application/json" : "application/yaml"
        let client = APIClient(options: server)
        if document?["kind"] as? String == "Pipeline" {
            let named = (document?["metadata"] as? [String: Any])?["project"] as? String
            guard let project = project ?? named else { throw ValidationError("set metadata.project in \(file) or give --project") }
            let (status, response) = try await client.send(
                .POST, "/api/v1/projects/\(project)/pipelines", body: data, contentType: contentType)
            struct Saved: Decodable { let pipeline: String, version: Int }
            let saved = try JSONDecoder().decode(Saved.self, from: response)
            print("pipeline \(saved.pipeline) \(status == 201 ? "created" : "at") version \(saved.version) in project \(project)")
            return
        }
        guard let project else { throw ValidationError("--project is required to register a template") }
        let (status, response) = try await client.send(.POST, "/api/v1/projects/\(project)/templates", body: data, contentType: contentType)
        struct Saved: Decodable { let template: String, version: String, status: String }
        let saved = try JSONDecoder().decode(Saved.self, from: response)
        print(
            "template \(saved.template)@\(saved.version) \(status == 201 ? "registered" : "unchanged") in project \(project) (\(saved.status))"
        )
    }
}

struct ListTemplates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the templates your palette offers.")

    @OptionGroup var server: ServerOptions

    @Flag(help: "Only published templates (the marketplace).")
    var published = false

    @Option(help: "Search names, descriptions and categories.")
    var query: String?

    func run() async throws {
        var items = [URLQueryItem(name: "published", value: String(published))]
        if let query { items.append(URLQueryItem(name: "q", value: query)) }
        var components = URLComponents()
        components.queryItems = items
        let (_, data) = try await APIClient(options: server).send(.GET, "/api/v1/templates" + (components.string ?? ""))
        struct List: Decodable {
            struct Item: Decodable { let name: String, latestVersion: String, category: String, description: String, project: String? }
            let templates: [Item]
        }
        for item in try JSONDecoder().decode(List.self, from: data).templates {
            print([item.name, item.latestVersion, item.category, item.project ?? "built-in", item.description].joined(separator: "\t"))
        }
    }
}

/// `publish`, `unpublish` and `deprecate` of one template version.
struct VersionAction: ParsableArguments {
    @OptionGroup var server: ServerOptions

    @Argument(help: "NAME@VERSION")
    var template: String

    func perform(_ action: String, body: Data? = nil) async throws {
        let parts = template.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ValidationError("expected NAME@VERSION, got \(template)") }
        _ = try await APIClient(options: server).send(.POST, "/api/v1/templates/\(parts[0])/versions/\(parts[1])/\(action)", body: body)
    }
}

struct PublishTemplate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "publish", abstract: "Publish NAME@VERSION to every user.")
    @OptionGroup var version: VersionAction

    func run() async throws {
        try await version.perform("publish")
        print("published \(version.template)")
    }
}

struct UnpublishTemplate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpublish", abstract: "Take NAME@VERSION out of palettes; pipelines that use it keep working."
    )
    @OptionGroup var version: VersionAction

    func run() async throws {
        try await version.perform("unpublish")
        print("unpublished \(version.template)")
    }
}

struct DeprecateTemplate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deprecate", abstract: "Mark NAME@VERSION as deprecated, with a message.")
    @OptionGroup var version: VersionAction

    @Option(help: "What to use instead.")
    var message: String = "deprecated"

    func run() async throws {
        try await version.perform("deprecate", body: try JSONSerialization.data(withJSONObject: ["message": message]))
        print("deprecated \(version.template): \(message)")
    }
}

struct GetTemplate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Show a template's versions (NAME) or one version's template file (NAME@VERSION)."
    )
    @OptionGroup var server: ServerOptions

    @Argument(help: "NAME or NAME@VERSION")
    var template: String

    func run() async throws {
        let parts = template.split(separator: "@", maxSplits: 1).map(String.init)
        let client = APIClient(options: server)
        if parts.count == 2 {
            let (_, data) = try await client.send(.GET, "/api/v1/templates/\(parts[0])/versions/\(parts[1])")
            struct Version: Decodable { let spec: TemplateSpec }
            let encoder = YAMLEncoder()
            encoder.options.allowUnicode = true
            print(try encoder.encode(try JSONDecoder().decode(Version.self, from: data).spec), terminator: "")
        } else {
            let (_, data) = try await client.send(.GET, "/api/v1/templates/\(template)")
            struct Summary: Decodable {
                struct Version: Decodable { let version: String, status: String, deprecated: String? }
                let versions: [Version]
            }
            for version in try JSONDecoder().decode(Summary.self, from: data).versions {
                print([version.version, version.status, version.deprecated ?? ""].joined(separator: "\t"))
            }
        }
    }
}

struct TemplateUsage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "How many pipelines (their current versions, in every project) use a template, per version."
    )
    @OptionGroup var server: ServerOptions

    @Argument(help: "The template's name.")
    var template: String

    func run() async throws {
        let (_, data) = try await APIClient(options: server).send(.GET, "/api/v1/template-usage/\(template)")
        struct Usage: Decodable {
            struct Version: Decodable { let version: String, pipelines: Int }
            let pipelines: Int
            let versions: [Version]
        }
        let usage = try JSONDecoder().decode(Usage.self, from: data)
        print("\(template): \(usage.pipelines) pipeline\(usage.pipelines == 1 ? "" : "s")")
        for version in usage.versions { print("\(version.version)\t\(version.pipelines)") }
    }
}
