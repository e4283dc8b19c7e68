import Foundation
import ServiceContracts
import Synchronization

/// Whether a user token was revoked, left to be checked with the first read its request makes: on the identity
/// service's reads (``AuthenticationMiddleware``) the token's revocation and the read go to the database as one
/// statement instead of two. Whatever no read settles — a handler that reads nothing, an empty answer, an error — the
/// middleware checks before the answer leaves, so a revoked token is refused on every path, as before.
public final class DeferredRevocation: Sendable {
    public let token: TokenSession
    private let verdict = Mutex<Bool?>(nil)

    init(_ token: TokenSession) {
        self.token = token
    }

    /// What a read or the middleware found; nil while unchecked.
    public var revoked: Bool? { verdict.withLock { $0 } }

    /// Records what a check found; a revoked token is refused with 401.
    public func settle(revoked: Bool) throws(APIError) {
        verdict.withLock { $0 = revoked }
        if revoked { throw Self.refusal }
    }

    static var refusal: APIError {
        APIError.unauthorized("the bearer token was revoked (logged out, or the account changed); log in again")
    }
}
