import Foundation
import JWTKit
import ServiceContracts
import TrellisHTTP
import TrellisStore

/// Signs access tokens with the identity service's EdDSA key (kept in `identity_signing_keys`, sealed with the
/// secrets key, so tokens outlive restarts and a copy of the database alone signs nothing) and publishes its public
/// half as a JWKS for the other services.
actor TokenIssuer {
    private let repository: any IdentityRepository
    private let secrets: SecretBox
    let lifetime: Duration
    private let now: @Sendable () -> Date
    private var loaded: (keys: JWTKeyCollection, kid: String, jwks: JWKS)?

    init(repository: any IdentityRepository, secrets: SecretBox, lifetime: Duration, now: @escaping @Sendable () -> Date) {
        self.repository = repository
        self.secrets = secrets
        self.lifetime = lifetime
        self.now = now
    }

    func issue(for user: AuthenticatedUser) async throws -> String {
        let (keys, kid, _) = try await load()
        return try await keys.sign(TrellisClaims(user: user, issuedAt: now(), lifetime: lifetime), kid: JWKIdentifier(string: kid))
    }

    /// The claims of a token this issuer signed (the signature and expiry checked).
    func claims(of token: String) async throws -> TrellisClaims {
        try await load().keys.verify(token, as: TrellisClaims.self)
    }

    func publicKeys() async throws -> JWKS {
        try await load().jwks
    }

    /// Reads the signing key, creating it on the very first start.
    private func load() async throws -> (keys: JWTKeyCollection, kid: String, jwks: JWKS) {
        if let loaded { return loaded }
        let candidate = try EdDSA.PrivateKey(curve: .ed25519)
        let stored = try await repository.signingKey(
            orCreate: SigningKey(
                kid: UUID().uuidString.lowercased(), privateKeyPEM: try secrets.seal(candidate.pemRepresentation), createdAt: now()))
        let pem: String
        if stored.privateKeyPEM.hasPrefix("v1:") {
            pem = try secrets.open(stored.privateKeyPEM)
        } else {
            // Written in clear by an earlier version: sealed now.
            pem = stored.privateKeyPEM
            try await repository.sealSigningKey(kid: stored.kid, sealed: try secrets.seal(pem))
        }
        let key = try EdDSA.PrivateKey(pem: pem)
        let keys = JWTKeyCollection()
        await keys.add(eddsa: key, kid: JWKIdentifier(string: stored.kid))
        let jwk = JWK.octetKeyPair(
            .eddsa, identifier: JWKIdentifier(string: stored.kid), x: key.publicKey.rawRepresentation.base64URLEncoded(), y: nil,
            curve: .ed25519
        )
        let result = (keys, stored.kid, JWKS(keys: [jwk]))
        loaded = result
        return result
    }
}

extension Data {
    /// Base64url without padding (RFC 7515), as JWK coordinates are written.
    func base64URLEncoded() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
