import TrellisCore
import TrellisHTTP

/// Asks the identity service for the caller's role in a project and turns it into access decisions.
struct ProjectAccess: Sendable {
    let identity: any IdentityClient

    func role(in project: String, context: TrellisRequestContext) async throws -> ProjectRole? {
        try await identity.role(of: context.requireUser(), inProject: project, token: context.bearerToken ?? "")
    }

    /// 404 for non-members (the project does not exist for them), 403 for members whose role is too low.
    func require(_ needed: ProjectRole, in project: String, context: TrellisRequestContext) async throws {
        guard let role = try await role(in: project, context: context) else { throw APIError.notFound("no project named \"\(project)\"") }
        guard role >= needed else { throw TemplateError.roleRequired(needed, project: project) }
    }
}
