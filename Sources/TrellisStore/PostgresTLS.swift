import Foundation
import NIOSSL
import PostgresKit

/// TLS to PostgreSQL as libpq reads it from the URL: `sslmode` — `disable`, `prefer` (the default: TLS when the
/// server offers it, unverified), `require` (TLS, unverified), `verify-ca` (TLS, the certificate signed by a trusted
/// CA) or `verify-full` (and issued for the host) — and `sslrootcert`, the CA file to trust (else the system's).
struct PostgresTLS: Equatable {
    enum Mode: String, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    let mode: Mode
    let rootCertificate: String?

    init(url: String) throws(StoreError) {
        let items = URLComponents(string: url)?.queryItems ?? []
        let text = items.last { $0.name == "sslmode" }?.value ?? Mode.prefer.rawValue
        guard let mode = Mode(rawValue: text) else {
            throw StoreError.invalidURL(
                DatabaseURL.postgres(url: url).description,
                reason: "sslmode=\(text) is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.mode = mode
        rootCertificate = items.last { $0.name == "sslrootcert" }?.value
        if let rootCertificate, !FileManager.default.isReadableFile(atPath: rootCertificate) {
            throw StoreError.invalidURL(
                DatabaseURL.postgres(url: url).description, reason: "sslrootcert=\(rootCertificate) is not a readable file")
        }
    }

    /// What NIOSSL is given; nil when TLS is off.
    var configuration: TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let rootCertificate {
            configuration.trustRoots = .file(rootCertificate)
        }
        return configuration
    }

    /// For the pool.
    func clientTLS() -> PostgresClient.Configuration.TLS {
        guard let configuration else { return .disable }
        return mode == .prefer ? .prefer(configuration) : .require(configuration)
    }

    /// For a single connection.
    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard let configuration else { return .disable }
        let context = try NIOSSLContext(configuration: configuration)
        return mode == .prefer ? .prefer(context) : .require(context)
    }
}
