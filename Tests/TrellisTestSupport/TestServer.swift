import Foundation
import Hummingbird

/// A Hummingbird server of a test's own on a free port of 127.0.0.1, for the length of `body`, which gets the port.
enum TestServer {
    static func serve<T: Sendable>(_ router: Router<BasicRequestContext>, _ body: @escaping @Sendable (Int) async throws -> T) async throws
        -> T
    {
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                port.yield(channel.localAddress?.port ?? 0)
                port.finish()
            })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await application.runService()
                return nil
            }
            var bound = 0
            for await value in ports { bound = value }
            group.addTask { try await body(bound) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw TransportError("the test's server on port \(bound) stopped")
        }
    }
}
