import Foundation
import JWTKit
import Logging
import ServiceContracts

/// Personal API tokens: `trl_` and 43 characters of base64url randomness (32 bytes); only their SHA-256 is stored.
public enum APITokenFormat {
    public static let prefix = "trl_"
}

/// Verifies access tokens with the identity service's public keys, fetched once and again when a token names a
/// key id it has not seen (key rotation), at most once per `refreshInterval`. A token's signature is checked once:
/// its claims are kept by the exact token text (bounded), and each later use checks only its expiry and revocation.
public actor TokenVerifier {
    private let identity: any IdentityClient
    private let keys = JWTKeyCollection()
    private var knownKeyIDs: Set<String> = []
    /// Claims of tokens whose signature was verified, by the token's text.
    private var verified: [String: TrellisClaims] = [:]
    static let verifiedLimit = 10_000
    private var lastFetch: ContinuousClock.Instant?
    private let refreshInterval: Duration

    public init(identity: any IdentityClient, refreshInterval: Duration = .seconds(10)) {
        self.identity = identity
        self.refreshInterval = refreshInterval
    }

    /// The caller named by a valid token, or 401 naming what is wrong with it.
    public func verify(_ token: String) async throws(APIError) -> AuthenticatedUser {
        let (user, revocation) = try await verifyDeferringRevocation(token)
        if let revocation { try await check(revocation) }
        return user
    }

    /// The caller named by a token whose signature, issuer and expiry are valid, and for a user token its revocation,
    /// still to be checked (``check(_:)``, or a read that settles it); nil for a personal API token, checked whole.
    public func verifyDeferringRevocation(_ token: String) async throws(APIError) -> (AuthenticatedUser, DeferredRevocation?) {
        if token.hasPrefix(APITokenFormat.prefix) { return (try await verifyAPIToken(token), nil) }
        let claims = try await signed(token)
        let session = TokenSession(tokenID: claims.jti.value, userID: claims.sub.value, issuedAt: claims.iat.value)
        return (claims.user, DeferredRevocation(session))
    }

    /// Asks whether the token was revoked, unless a read already settled it; 401 when it was.
    public nonisolated func check(_ revocation: DeferredRevocation) async throws(APIError) {
        if let revoked = revocation.revoked {
            if revoked { throw DeferredRevocation.refusal }
            return
        }
        let revoked: Bool
        do {
            let token = revocation.token
            revoked = try await identity.isRevoked(token.tokenID, user: token.userID, issuedAt: token.issuedAt)
        } catch {
            throw APIError.unavailable("cannot ask the identity service whether the token was revoked: \(error)")
        }
        try revocation.settle(revoked: revoked)
    }

    /// The claims of `token` once its signature, issuer and expiry are checked (the signature once per token).
    private func signed(_ token: String) async throws(APIError) -> TrellisClaims {
        if let claims = verified[token] {
            guard (try? claims.exp.verifyNotExpired()) != nil else {
                verified[token] = nil
                throw APIError.unauthorized("the bearer token has expired or was not issued by Trellis; log in again")
            }
            return claims
        }
        guard let header = Self.header(of: token) else { throw APIError.unauthorized("the bearer token is malformed") }
        if knownKeyIDs.isEmpty || header.kid.map({ !knownKeyIDs.contains($0) }) == true {
            try await refreshKeys()
        }
        let claims: TrellisClaims
        do {
            claims = try await keys.verify(token, as: TrellisClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw APIError.unauthorized("the bearer token has expired or was not issued by Trellis; log in again")
        } catch {
            throw APIError.unauthorized("the bearer token is not valid")
        }
        if verified.count >= Self.verifiedLimit { verified.removeAll(keepingCapacity: true) }
        verified[token] = claims
        return claims
    }

    private func verifyAPIToken(_ token: String) async throws(APIError) -> AuthenticatedUser {
        let user: AuthenticatedUser?
        do {
            user = try await identity.introspect(apiToken: token)
        } catch {
            throw APIError.unavailable("cannot ask the identity service about the API token: \(error)")
        }
        guard let user else { throw APIError.unauthorized("the API token is unknown, revoked or expired") }
        return user
    }

    /// The token's header (`kid` names the signing key), read before the signature is checked.
    static func header(of token: String) -> JWTHeader? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = parts[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONDecoder().decode(JWTHeader.self, from: data)
    }

    private func refreshKeys() async throws(APIError) {
        let now = ContinuousClock.now
        if let lastFetch, now - lastFetch < refreshInterval, !knownKeyIDs.isEmpty { return }
        lastFetch = now
        do {
            let jwks = try await identity.publicKeys()
            try await keys.add(jwks: jwks)
            knownKeyIDs.formUnion(jwks.keys.compactMap { $0.keyIdentifier?.string })
        } catch {
            throw APIError.unavailable("cannot fetch the token keys from the identity service: \(error)")
        }
    }
}
