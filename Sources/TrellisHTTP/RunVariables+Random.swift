import TrellisCore

extension RunVariables {
    /// 16 bytes from the system's random generator: what `uuid.uuid4()` draws from in runs, previews and the CLI.
    public static let systemRandomBytes: @Sendable () -> [UInt8] = { (0..<16).map { _ in UInt8.random(in: .min ... .max) } }
}
