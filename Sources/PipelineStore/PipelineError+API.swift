import ServiceContracts
import TrellisHTTP

extension PipelineError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .invalid(let problems):
            .invalid(problems)
        case .notFound(let name, let project): .notFound("project \(project) has no pipeline named \"\(name)\"")
        case .versionNotFound(let name, let version): .notFound("pipeline \"\(name)\" has no version \(version)")
        case .concurrentChange(let name): .conflict("pipeline \"\(name)\" was changed by someone else while saving; apply again")
        }
    }
}
