import ServiceContracts
import TrellisCore

/// Asks the identity service for the caller's role in a project and turns it into access decisions, the same in
/// every service: a non-member gets 404 (the project does not exist for them), a member with too low a role 403.
public struct ProjectAccess: Sendable {
    let identity: any IdentityClient

    public init(identity: any IdentityClient) {
        self.identity = identity
    }

    public func role(in project: String, caller: Caller) async throws -> ProjectRole? {
        caller.user.limited(try await identity.role(of: caller.user, inProject: project, token: caller.token), in: project)
    }

    /// Lets the caller do `action` in `project`, or answers 404 (not a member) or 403 (a role too low to).
    public func require(_ action: ProjectAction, in project: String, context: TrellisRequestContext) async throws {
        guard let role = try await role(in: project, caller: context.caller()) else {
            throw APIError.notFound("no project named \"\(project)\"")
        }
        guard role >= action.minimumRole else { throw APIError.forbidden(action.refusal(in: project, for: role)) }
    }
}
