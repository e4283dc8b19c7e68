#if canImport(Glibc)
    import Glibc
#endif

/// What the supervisor runs, as the local backend writes it (`spec`, NUL-separated fields, so commands may hold
/// newlines and any other byte but NUL): `v1`, id, replicas, timeout ms (-1: none), grace ms, keep (0/1), argc,
/// arguments…, envc, `KEY=VALUE`…. Foundation-free: the supervisor links nothing but the standard library.
public struct ShimSpec: Equatable, Sendable {
    public var id: String
    public var replicas: Int
    public var timeoutMilliseconds: Int64?
    public var graceMilliseconds: Int64
    public var keepWorkingDirectory: Bool
    public var command: [String]
    /// `KEY=VALUE`, the task's whole environment.
    public var environment: [String]

    public init(
        id: String, replicas: Int, timeoutMilliseconds: Int64?, graceMilliseconds: Int64, keepWorkingDirectory: Bool, command: [String],
        environment: [String]
    ) {
        self.id = id
        self.replicas = replicas
        self.timeoutMilliseconds = timeoutMilliseconds
        self.graceMilliseconds = graceMilliseconds
        self.keepWorkingDirectory = keepWorkingDirectory
        self.command = command
        self.environment = environment
    }

    public var encoded: [UInt8] {
        let fields =
            ["v1", id, String(replicas), String(timeoutMilliseconds ?? -1), String(graceMilliseconds), keepWorkingDirectory ? "1" : "0"]
            + [String(command.count)] + command + [String(environment.count)] + environment
        var bytes: [UInt8] = []
        for field in fields {
            bytes += field.utf8
            bytes.append(0)
        }
        return bytes
    }

    public init?(decoding bytes: [UInt8]) {
        var fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if fields.last == "" { fields.removeLast() }
        var cursor = fields.makeIterator()
        guard cursor.next() == "v1", let id = cursor.next(), let replicas = cursor.next().flatMap({ Int($0) }), replicas > 0,
            let timeout = cursor.next().flatMap({ Int64($0) }), let grace = cursor.next().flatMap({ Int64($0) }),
            let keep = cursor.next(), let argc = cursor.next().flatMap({ Int($0) }), argc > 0
        else { return nil }
        var command: [String] = []
        for _ in 0..<argc {
            guard let argument = cursor.next() else { return nil }
            command.append(argument)
        }
        guard let envc = cursor.next().flatMap({ Int($0) }) else { return nil }
        var environment: [String] = []
        for _ in 0..<envc {
            guard let variable = cursor.next() else { return nil }
            environment.append(variable)
        }
        self.init(
            id: id, replicas: replicas, timeoutMilliseconds: timeout < 0 ? nil : timeout, graceMilliseconds: grace,
            keepWorkingDirectory: keep == "1", command: command, environment: environment)
    }
}

/// The fields of /proc/PID/stat Trellis reads.
public struct ProcStat: Equatable, Sendable {
    public let processGroup: Int32
    /// User plus system CPU time, in clock ticks.
    public let cpuTicks: UInt64
    /// When the process started, in clock ticks since boot: with the pid, it names one process for good.
    public let startTime: UInt64
    public let residentPages: Int64

    public init?(pid: Int32) {
        guard let bytes = FileBytes.read("/proc/\(pid)/stat") else { return nil }
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    /// Fields from 3 (state) on, after the parenthesised command, which may hold spaces and parentheses.
    public init?(_ text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let group = Int32(fields[2]), let user = UInt64(fields[11]), let system = UInt64(fields[12]),
            let start = UInt64(fields[19]), let rss = Int64(fields[21])
        else { return nil }
        processGroup = group
        cpuTicks = user + system
        startTime = start
        residentPages = rss
    }
}

/// Small file helpers over the C library.
public enum FileBytes {
    public static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? result : nil }
            result += chunk[0..<count]
        }
    }

    /// Writes `bytes` to a temporary file and renames it over `path`: readers see all or nothing.
    @discardableResult
    public static func replace(_ path: String, with bytes: [UInt8]) -> Bool {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return false }
        let written = writeAll(descriptor, bytes)
        close(descriptor)
        return written && rename(temporary, path) == 0
    }

    public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }
}
