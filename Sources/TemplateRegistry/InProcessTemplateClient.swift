import ServiceContracts
import TrellisCore
import TrellisHTTP

/// The registry answering the other modules of the same process (embedded mode), with the API's visibility.
struct InProcessTemplateClient<Repository: TemplateRepository>: TemplateClient {
    let controller: TemplateController<Repository>
    let images: ImageController<SQLImageRepository>

    func registryCredentials(ofProject project: String) async throws -> [RegistryCredential] {
        try await images.credentials(ofProject: project)
    }

    func versions(of name: String, caller: Caller) async throws -> [TemplateVersionStatus] {
        do {
            return try await controller.visibleVersions(of: name, caller: caller).1
                .map { TemplateVersionStatus(version: $0.version, status: $0.status.rawValue) }
        } catch TemplateError.notFound {
            return []
        }
    }

    func template(_ name: String, version: String, caller: Caller) async throws -> TemplateSpec? {
        do {
            return try await controller.visibleVersions(of: name, caller: caller).1.first { $0.version == version }?.spec
        } catch TemplateError.notFound {
            return nil
        }
    }
}
