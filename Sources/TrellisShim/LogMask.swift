/// What a task's log must never show: each line of each secret value, written `***` wherever it appears in a log
/// line. Values are masked line by line (a log is read a line at a time), longest first (a value containing another is
/// masked whole); lines shorter than 4 bytes are left, as secrets are at least 4 bytes and shorter pieces would mask
/// ordinary text. Used by the supervisor on local logs and by the cluster gateway on pods' logs.
public struct LogMask: Sendable {
    let values: [[UInt8]]

    public init(_ secrets: some Sequence<String>) {
        values = secrets.flatMap { $0.split(separator: "\n").map { Array($0.utf8) } }.filter { $0.count >= 4 }
            .sorted { $0.count > $1.count }
    }

    public var isEmpty: Bool { values.isEmpty }

    public func apply(_ line: [UInt8]) -> [UInt8] {
        guard !values.isEmpty else { return line }
        var text = line
        for value in values { text = Self.replacing(value, in: text) }
        return text
    }

    public func apply(_ line: String) -> String {
        values.isEmpty ? line : String(decoding: apply(Array(line.utf8)), as: UTF8.self)
    }

    static let mask = Array("***".utf8)

    static func replacing(_ value: [UInt8], in line: [UInt8]) -> [UInt8] {
        guard !value.isEmpty, line.count >= value.count else { return line }
        var result: [UInt8] = []
        result.reserveCapacity(line.count)
        var index = 0
        while index < line.count {
            if index + value.count <= line.count, line[index] == value[0], line[index..<index + value.count].elementsEqual(value) {
                result += mask
                index += value.count
            } else {
                result.append(line[index])
                index += 1
            }
        }
        return result
    }
}
