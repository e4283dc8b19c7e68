import AsyncHTTPClient
import Hummingbird
import HummingbirdTesting
import ServiceContracts
import Synchronization
import Testing

/// The gateway proxies every client's request through one HTTP client per upstream service: that client must not
/// queue requests behind one another while the service could be answering them.
@Suite struct ServiceHTTPClientTests {
    /// 24 requests at once to one service are all in flight at once. The service answers none until 24 are in or
    /// 10 s passed; it records how many it held at most, which is what is checked (AsyncHTTPClient's default client holds
    /// 8, and each of the three rounds of 8 waits the 10 s out).
    @Test func requestsToOneServiceAreNotQueuedBehindEachOther() async throws {
        let wanted = 24
        #expect(HTTPClient.connectionsPerService >= wanted)
        let held = Mutex((now: 0, most: 0))
        let router = Router()
        router.get("slow") { _, _ -> String in
            held.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
            defer { held.withLock { $0.now -= 1 } }
            var waited = 0
            while held.withLock({ $0.most }) < wanted, waited < 1000 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            return "done"
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let http = HTTPClient.betweenServices()
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<wanted {
                        group.addTask {
                            let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/slow")
                            let response = try await http.execute(request, timeout: .seconds(60))
                            #expect(response.status == .ok)
                        }
                    }
                    try await group.waitForAll()
                }
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
        #expect(held.withLock { $0.most } == wanted)
    }
}
