import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisStore

/// Purges a service's data of deleted projects: asks the identity service for the deletions it has still to do,
/// purges each and says so. A purge that fails or cannot finish yet is asked for again on the next pass, after a
/// restart too, so `purge` must be idempotent (``ProjectDeletion``).
public struct ProjectPurger: Service {
    let service: ServiceName
    let identity: any IdentityClient
    let ready: Gate
    let logger: Logger
    let interval: Duration
    let purge: @Sendable (ProjectDeletion) async throws -> Void

    /// `service`'s purger in `environment`: it starts once the service's tables are ready.
    public init(
        _ service: ServiceName, environment: ServiceEnvironment, interval: Duration = .seconds(1),
        purge: @escaping @Sendable (ProjectDeletion) async throws -> Void
    ) throws {
        self.service = service
        identity = try environment.requireIdentity(for: service)
        ready = environment.ready
        logger = environment.logger
        self.interval = interval
        self.purge = purge
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            while !Task.isCancelled {
                await pass()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One look at the deletions waiting for this service.
    func pass() async {
        let deletions: [ProjectDeletion]
        do {
            deletions = try await identity.projectDeletions(for: service)
        } catch {
            logger.warning("cannot read project deletions", metadata: ["error": .string("\(error)")])
            return
        }
        for deletion in deletions where !Task.isCancelled {
            let metadata: Logger.Metadata = ["project": .string(deletion.project), "service": .string(service.rawValue)]
            do {
                try await purge(deletion)
                try await identity.finishProjectDeletion(deletion, by: service)
                logger.notice("project data purged", metadata: metadata)
            } catch let waiting as PurgeNotDone {
                logger.info("project purge waits", metadata: metadata.merging(["reason": .string(waiting.description)]) { $1 })
            } catch {
                logger.warning("project purge failed; retried", metadata: metadata.merging(["error": .string("\(error)")]) { $1 })
            }
        }
    }
}
