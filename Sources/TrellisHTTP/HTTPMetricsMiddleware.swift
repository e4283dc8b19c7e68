import Hummingbird
import Prometheus

/// Counts requests and times them per route pattern (not per concrete path, to keep label values bounded):
/// `trellis_http_requests_total{service,method,route,status}` and
/// `trellis_http_request_duration_seconds{service,method,route}`.
public struct HTTPMetricsMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext
    let registry: PrometheusCollectorRegistry
    let service: String
    /// The `route` label of requests no route matched (the gateway labels what it proxies by service).
    let unmatchedRoute: @Sendable (Request) -> String

    /// Request latency buckets: from a cache hit to a slow proxied call.
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "trellis", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "HTTP requests answered, by route and status."
        )
    }

    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "trellis", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time to the response head, by route."
        )
    }

    public init(
        registry: PrometheusCollectorRegistry, service: String,
        unmatchedRoute: @escaping @Sendable (Request) -> String = { _ in "unmatched" }
    ) {
        self.registry = registry
        self.service = service
        self.unmatchedRoute = unmatchedRoute
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? unmatchedRoute(request)
        let method = request.method.rawValue
        registry.makeCounter(
            descriptor: Self.requests,
            labels: [("service", service), ("method", method), ("route", route), ("status", String(response.status.code))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.duration,
            labels: [("service", service), ("method", method), ("route", route)],
            buckets: Self.buckets
        ).recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
        return response
    }
}
