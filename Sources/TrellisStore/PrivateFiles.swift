import Foundation

/// The data directory's own files: the folder is the server user's alone (0700), and secret files are created 0600
/// whole, with no moment at which another user could open them or read half.
public enum PrivateFiles {
    /// Creates `path` (and missing parents) 0700, or narrows an existing folder to 0700.
    public static func directory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(path, 0o700) == 0 else { throw PrivateFileError(path: path, code: errno) }
    }

    /// Writes `contents` to `path` unless it exists: a temporary 0600 file, linked into place (a concurrent writer
    /// wins or loses whole). Returns false when the file was there already.
    @discardableResult
    public static func create(_ path: String, contents: Data) throws -> Bool {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PrivateFileError(path: temporary, code: errno) }
        defer { unlink(temporary) }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == contents.count, synced else { throw PrivateFileError(path: temporary, code: errno) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw PrivateFileError(path: path, code: errno)
        }
        return true
    }

    /// An empty 0600 file at `path` when none is there (a database about to be opened); an existing one is narrowed
    /// to 0600.
    public static func touch(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PrivateFileError(path: path, code: errno) }
        close(descriptor)
        guard chmod(path, 0o600) == 0 else { throw PrivateFileError(path: path, code: errno) }
    }
}

public struct PrivateFileError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String { "\(path): \(String(cString: strerror(code)))" }
}
