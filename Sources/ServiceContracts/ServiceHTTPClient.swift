import AsyncHTTPClient

extension HTTPClient {
    /// Connections a process keeps to each other service at most (the gateway proxies through them too).
    /// AsyncHTTPClient's default, 8, made the gateway queue requests behind one another: split mode read 20–40 % less
    /// under 32 clients at once; 16 and 64 read less than 32 (docs/benchmarks.md).
    public static let connectionsPerService = 32

    /// The client a process calls the other services with.
    public static func betweenServices() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerService
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
