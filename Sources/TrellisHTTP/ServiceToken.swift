import HTTPTypes
import Hummingbird
import ServiceContracts
import TrellisStore

extension ServiceToken {
    /// Derived from the deployment's secrets key (``SecretBox``).
    public init(configuration: TrellisConfiguration) throws {
        self.init(
            value: try SecretBox.load(base64Key: configuration.secretsKey, dataDirectory: configuration.dataDirectory)
                .derivedToken(purpose: "trellis internal service token v1"))
    }
}

/// Lets a request through only with the service token (internal routes, `/api/v1/internal/...`).
public struct ServiceTokenMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext
    let token: ServiceToken

    public init(token: ServiceToken) {
        self.token = token
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = request.headers[.authorization].map { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : "" } ?? ""
        guard Self.constantTimeEqual(presented, token.value) else {
            throw APIError.unauthorized("internal routes need the service token")
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// In split mode the gateway is every service's peer: it passes the client's address on (`X-Trellis-Client-Address`)
/// with the service token as its voucher (`X-Trellis-Forwarded-By`). Only then is the address taken as the client's,
/// so a client cannot claim another address to escape its login throttle.
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext
    public static let address = HTTPField.Name("X-Trellis-Client-Address")!
    public static let voucher = HTTPField.Name("X-Trellis-Forwarded-By")!
    let token: ServiceToken

    public init(token: ServiceToken) {
        self.token = token
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let address = request.headers[Self.address], let voucher = request.headers[Self.voucher],
            ServiceTokenMiddleware.constantTimeEqual(voucher, token.value), address.utf8.count <= 64
        {
            context.clientAddress = address
        }
        return try await next(request, context)
    }
}
