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
            // Which project holds it is not the caller's to know: projects are private to their members.
            .conflict(
                "the template name \"\(name)\" is taken by \(project == nil ? "the platform (a deleted project's template)" : "another project"); choose another"
            )
        case .publishedIsImmutable(let name, let version):
            .failedPrecondition("\(name)@\(version) is published and cannot change; register a new version")
        case .notPublished(let name, let version): .failedPrecondition("\(name)@\(version) is not published")
        case .builtinIsReadOnly(let name): .forbidden("\"\(name)\" is a built-in template and cannot be changed")
        case .keptByPlatform(let name):
            .forbidden(
                "\"\(name)\" belonged to a deleted project; the platform keeps its versions unchanged for the pipelines that use them")
        }
    }
}
