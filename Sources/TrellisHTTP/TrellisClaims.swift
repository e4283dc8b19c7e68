import Foundation
import JWTKit
import ServiceContracts

/// The claims of a Trellis access token, signed by the identity service (EdDSA) and checked by every service.
public struct TrellisClaims: JWTPayload, Equatable {
    public static let issuer = "trellis"

    /// The user's id.
    public var sub: SubjectClaim
    /// The user's name, so services can show it without asking identity.
    public var name: String
    /// Whether the user is a platform admin.
    public var admin: Bool
    public var iss: IssuerClaim
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim
    /// The token's own id: logging out revokes it.
    public var jti: IDClaim

    public init(user: AuthenticatedUser, issuedAt: Date, lifetime: Duration) {
        self.sub = SubjectClaim(value: user.id)
        self.name = user.username
        self.admin = user.isAdmin
        self.iss = IssuerClaim(value: Self.issuer)
        self.iat = IssuedAtClaim(value: issuedAt)
        self.exp = ExpirationClaim(value: issuedAt.addingTimeInterval(TimeInterval(lifetime.components.seconds)))
        self.jti = IDClaim(value: UUID().uuidString.lowercased())
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard iss.value == Self.issuer else { throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unknown issuer") }
    }

    public var user: AuthenticatedUser {
        AuthenticatedUser(id: sub.value, username: name, isAdmin: admin)
    }
}
