import ServiceContracts
import TrellisHTTP

extension IdentityError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .invalidCredentials: .unauthorized("invalid username or password")
        case .userExists(let name): .conflict("a user named \"\(name)\" already exists")
        case .userNotFound(let name): .notFound("no user named \"\(name)\"")
        case .projectExists(let name): .conflict("a project named \"\(name)\" already exists")
        case .projectBeingDeleted(let name):
            .conflict("the project \"\(name)\" is being deleted; its name is free once its data is gone from every service")
        case .projectNotFound(let name): .notFound("no project named \"\(name)\"")
        case .notAllowed(let action, let project, let role): .forbidden(action.refusal(in: project, for: role))
        case .lastOwner(let project): .failedPrecondition("project \"\(project)\" must keep at least one owner")
        case .notProvisioned(let name):
            .forbidden("\(name) is known to the directory but has no Trellis account; ask a platform admin to create it")
        case .directoryUnavailable: .unavailable("the directory (LDAP) cannot be reached; try again later")
        }
    }
}
