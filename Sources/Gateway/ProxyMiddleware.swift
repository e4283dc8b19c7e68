import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceContracts
import TrellisHTTP

/// Split mode's front door: checks the caller's token, then forwards each `/api/v1/…` request to the service that
/// owns it (``ServiceName/owner(ofPath:)``), streaming bodies both ways (live logs are server-sent events).
struct ProxyMiddleware: RouterMiddleware {
    typealias Context = TrellisRequestContext
    let upstreams: [ServiceName: String]
    let httpClient: HTTPClient
    let verifier: TokenVerifier
    /// Vouches for the client's address to the services (``ClientAddressMiddleware``); nil: the address is not passed.
    let serviceToken: ServiceToken?
    /// `/api/` paths the gateway answers itself (the API document).
    let ownPaths: Set<String>

    /// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
    ]
    /// Long enough for a followed log stream; an idle service still fails fast on connect.
    static let deadline: TimeAmount = .hours(24)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/"), !ownPaths.contains(path) else { return try await next(request, context) }
        guard let service = ServiceName.owner(ofPath: path), let base = upstreams[service] else {
            throw APIError.notFound("no route for \(request.method) \(path)")
        }
        if !APIPaths.publicPaths.contains(path) {
            _ = try await AuthenticationMiddleware(verifier: verifier).authenticate(request)
        }
        var upstream = HTTPClientRequest(url: base + (request.uri.string.hasPrefix("/") ? request.uri.string : path))
        upstream.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.headers.replaceOrAdd(name: RequestIDMiddleware.header.rawName, value: context.requestID)
        // What a client sent under these names is replaced, never passed on.
        upstream.headers.remove(name: ClientAddressMiddleware.address.rawName)
        upstream.headers.remove(name: ClientAddressMiddleware.voucher.rawName)
        if let serviceToken, let address = context.remoteAddress {
            upstream.headers.add(name: ClientAddressMiddleware.address.rawName, value: address)
            upstream.headers.add(name: ClientAddressMiddleware.voucher.rawName, value: serviceToken.value)
        }
        if let length = request.headers[.contentLength].flatMap(Int64.init) {
            upstream.body = .stream(request.body, length: .known(length))
        } else if request.headers[.transferEncoding] != nil {
            upstream.body = .stream(request.body, length: .unknown)
        }
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(upstream, deadline: .now() + Self.deadline, logger: context.logger)
        } catch {
            context.logger.error(
                "upstream unreachable", metadata: ["service": .string(service.rawValue), "error": .string(String(describing: error))]
            )
            throw APIError.unavailable("the \(service.rawValue) service is unavailable")
        }
        var headers = HTTPFields()
        for (name, value) in response.headers where !Self.hopByHop.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: Int(response.status.code)),
            headers: headers,
            body: ResponseBody(asyncSequence: response.body)
        )
    }
}
