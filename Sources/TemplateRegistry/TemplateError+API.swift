import ServiceContracts
import TrellisHTTP

extension TemplateError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .invalid(let problems):
            .invalid(problems)
        case .notFound(let name): .notFound("no template named \"\(name)\"")
        case .versionNotFound(let name, let version): .notFound("template \"\(name)\" has no version \(version)")
        case .nameTaken(let name, let project):
            .conflict("the template name \"\(name)\" is taken by \(project.map { "project \"\($0)\"" } ?? "a built-in template")")
        case .publishedIsImmutable(let name, let version):
            .failedPrecondition("\(name)@\(version) is published and cannot change; register a new version")
        case .notPublished(let name, let version): .failedPrecondition("\(name)@\(version) is not published")
        case .builtinIsReadOnly(let name): .forbidden("\"\(name)\" is a built-in template and cannot be changed")
        }
    }
}
