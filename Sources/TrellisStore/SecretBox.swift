import Crypto
import Foundation

/// Encrypts secrets kept in tables (registry passwords) with AES-256-GCM. The key comes from `secrets.key`
/// (`TRELLIS_SECRETS_KEY`, base64 of 32 bytes) or from `<data dir>/secrets.key`, created on first use with mode 0600.
public struct SecretBox: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The key given as base64, or the data directory's key file (created when missing).
    public static func load(base64Key: String?, dataDirectory: String) throws -> SecretBox {
        if let base64Key {
            guard let data = Data(base64Encoded: base64Key), data.count == 32 else {
                throw SecretError.badKey("secrets.key must be 32 bytes in base64 (openssl rand -base64 32)")
            }
            return SecretBox(key: SymmetricKey(data: data))
        }
        let url = URL(fileURLWithPath: dataDirectory).appendingPathComponent("secrets.key")
        if let data = try? Data(contentsOf: url) { return try box(from: data, file: url.path) }
        try PrivateFiles.directory(dataDirectory)
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0) }.base64EncodedString()
        do {
            // Another service starting on the same folder may have made it first: then its key is the key.
            guard try PrivateFiles.create(url.path, contents: Data(text.utf8)) else {
                return try box(from: try Data(contentsOf: url), file: url.path)
            }
        } catch {
            throw SecretError.badKey("cannot create \(url.path): \(error)")
        }
        return SecretBox(key: key)
    }

    private static func box(from data: Data, file: String) throws(SecretError) -> SecretBox {
        guard let key = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            key.count == 32
        else {
            throw SecretError.badKey("\(file) does not hold 32 bytes in base64")
        }
        return SecretBox(key: SymmetricKey(data: key))
    }

    /// A token for `purpose` derived from the key (HMAC-SHA256, base64): services sharing the key share it.
    public func derivedToken(purpose: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: key)).base64EncodedString()
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw SecretError.cannotDecrypt }
        return "v1:" + combined.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard sealed.hasPrefix("v1:"), let data = Data(base64Encoded: String(sealed.dropFirst(3))) else { throw SecretError.cannotDecrypt }
        do {
            return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key), as: UTF8.self)
        } catch {
            throw SecretError.cannotDecrypt
        }
    }
}

public enum SecretError: Error, Sendable, CustomStringConvertible, Equatable {
    case badKey(String)
    /// Wrong key or tampered value.
    case cannotDecrypt

    public var description: String {
        switch self {
        case .badKey(let reason): reason
        case .cannotDecrypt: "a stored secret cannot be decrypted with this key"
        }
    }
}
