import Foundation
import Testing

@testable import ClusterGateway

@Suite struct ExecutionDirectoryTests {
    /// An execution's stored bytes are its regular files' sizes: a link counts as nothing (not what it points to),
    /// nor does a folder or what it holds.
    @Test func bytesCountTheRegularFilesOnly() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("execution-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = ExecutionDirectory(root: root, id: "e1")
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        try Data(count: 3).write(to: directory.output)
        try Data(count: 1_000_000).write(to: directory.samples)
        try Data().write(to: directory.stop)
        let elsewhere = root.appendingPathComponent("big")
        try Data(count: 5_000).write(to: elsewhere)
        try FileManager.default.createSymbolicLink(at: directory.url.appendingPathComponent("link"), withDestinationURL: elsewhere)
        let inner = directory.url.appendingPathComponent("inner", isDirectory: true)
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try Data(count: 7).write(to: inner.appendingPathComponent("file"))
        #expect(directory.bytes == 1_000_003)
        #expect(ExecutionDirectory(root: root, id: "missing").bytes == 0)
    }

    /// An execution id names a folder: ASCII letters, digits and "-" only, so none climbs out of the root.
    @Test func executionIdsAreLettersDigitsAndDashesOnly() {
        for good in ["a", "Z", "0", "run-1-task-2", "ABCxyz-789", String(repeating: "a", count: 200)] {
            #expect(LocalBackend.isValid(good), "\(good)")
        }
        for bad in ["", "..", "a/b", "a.b", "a_b", "a b", "@", "[", "`", "{", "é", "ａ", "٣", "a\u{0}", String(repeating: "a", count: 201)] {
            #expect(!LocalBackend.isValid(bad), "\(bad)")
        }
    }
}
