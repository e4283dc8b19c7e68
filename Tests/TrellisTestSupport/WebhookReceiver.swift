import Crypto
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP server on 127.0.0.1 that webhooks are sent to: it keeps every request it answered with success, and
/// answers 503 while told to fail (a number of times, or until told otherwise).
public final class WebhookReceiver: Sendable {
    public struct Received: Sendable {
        public let path: String
        public let query: String?
        public let headers: [String: String]
        public let body: Data

        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }

        /// Whether `X-Trellis-Signature` is `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under `secret`, as a
        /// receiver checks it.
        public func isSigned(with secret: String) -> Bool {
            guard let timestamp = headers["x-trellis-timestamp"], let signature = headers["x-trellis-signature"] else { return false }
            let code = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).".utf8) + body, using: SymmetricKey(data: Data(secret.utf8)))
            return signature == "sha256=" + code.map { String(format: "%02x", $0) }.joined()
        }

        /// Whether the query carries DingTalk's `timestamp` and `sign` (base64 HMAC-SHA256 of `timestamp\nsecret`).
        public func isDingTalkSigned(with secret: String) -> Bool {
            let items = URLComponents(string: "http://x/?" + (query ?? ""))?.queryItems ?? []
            guard let timestamp = items.first(where: { $0.name == "timestamp" })?.value,
                let sign = items.first(where: { $0.name == "sign" })?.value
            else { return false }
            let code = HMAC<SHA256>.authenticationCode(
                for: Data("\(timestamp)\n\(secret)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            return sign == Data(code).base64EncodedString()
        }
    }

    struct State {
        var accepted: [Received] = []
        /// Requests answered 503, each path's count.
        var refused: [String: Int] = [:]
        /// Refuse the next this many requests of a path; `Int.max`: until told otherwise.
        var failing: [String: Int] = [:]
        /// How long an accepted request of a path is held before its answer.
        var slowness: [String: Duration] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The next `count` requests to `path` are answered 503 (`nil`: every one, until ``accept(_:)``).
    public func fail(_ path: String, times count: Int? = nil) { state.withLock { $0.failing[path] = count ?? .max } }

    public func accept(_ path: String) { state.withLock { $0.failing[path] = 0 } }

    /// Accepted requests of `path` are answered after `delay` (a sender's claim must outlast its request).
    public func slow(_ path: String, by delay: Duration) { state.withLock { $0.slowness[path] = delay } }

    public func accepted(_ path: String) -> [Received] { state.withLock { $0.accepted.filter { $0.path == path } } }

    public func refused(_ path: String) -> Int { state.withLock { $0.refused[path] ?? 0 } }

    /// Serves on a free port of 127.0.0.1 for the length of `body`, which gets the base URL.
    public func serve<T: Sendable>(_ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("**") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = Received(
                path: request.uri.path, query: request.uri.query, headers: headers, body: Data(buffer: buffer))
            let (refuse, delay) = self.state.withLock { state in
                let remaining = state.failing[received.path] ?? 0
                guard remaining > 0 else {
                    state.accepted.append(received)
                    return (false, state.slowness[received.path])
                }
                if remaining != .max { state.failing[received.path] = remaining - 1 }
                state.refused[received.path, default: 0] += 1
                return (true, nil)
            }
            if let delay { try await Task.sleep(for: delay) }
            return Response(
                status: refuse ? .serviceUnavailable : .ok,
                body: ResponseBody(byteBuffer: ByteBuffer(string: refuse ? "busy" : "{\"errcode\":0}")))
        }
        return try await TestServer.serve(router) { bound in try await body("http://127.0.0.1:\(bound)") }
    }
}
