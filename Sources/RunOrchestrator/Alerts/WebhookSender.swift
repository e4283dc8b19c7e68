import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import ServiceContracts
import TrellisCore

/// Sends one alert to one webhook: the body in the webhook's format, signed when it has a key, refused when its host
/// resolves to a forbidden address (``WebhookAddress``), never following a redirect. A try fails on anything but a
/// 2xx answer — or a chat robot's 200 whose `errcode` is not 0 — naming what went wrong.
struct WebhookSender: Sendable {
    let client: HTTPClient
    static let timeout = TimeAmount.seconds(10)

    /// A client of its own: webhooks must not follow redirects (a redirect to a forbidden address is a way around the
    /// address check), whatever the service's client does.
    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: timeout))
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func send(_ event: AlertEvent, to target: ProjectAlerting.Target, webhook: String, now: Date) async throws {
        try WebhookAddress.check(target.url, field: "webhook \(webhook)")
        guard var components = URLComponents(string: target.url), let host = components.host else {
            throw Failure("the webhook's URL has no host")
        }
        if let reason = try await Self.forbiddenAddress(of: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) {
            throw Failure("\(host) resolves to \(reason): webhooks may not go there")
        }
        let body = try event.body(target.format)
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Trellis-Alerts/1")
        request.headers.add(name: "X-Trellis-Event", value: event.id)
        request.headers.add(name: "X-Trellis-Delivery", value: "\(event.id)/\(webhook)")
        if let secret = target.secret {
            switch target.format {
            case .dingtalk:
                // DingTalk's own signing (加签): the key signs the timestamp, both go in the query.
                let milliseconds = String(Int64(now.timeIntervalSince1970 * 1000))
                let sign = Data(HMAC<SHA256>.authenticationCode(for: Data("\(milliseconds)\n\(secret)".utf8), using: key(secret)))
                    .base64EncodedString()
                components.queryItems =
                    (components.queryItems ?? []) + [
                        URLQueryItem(name: "timestamp", value: milliseconds), URLQueryItem(name: "sign", value: sign),
                    ]
                // URLComponents leaves + and / of base64 alone in a query: they must be escaped.
                components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
                    .replacingOccurrences(of: "/", with: "%2F")
                request.url = components.string ?? target.url
            default:
                let timestamp = String(Int64(now.timeIntervalSince1970))
                request.headers.add(name: "X-Trellis-Timestamp", value: timestamp)
                request.headers.add(
                    name: "X-Trellis-Signature", value: "sha256=" + Self.signature(of: body, timestamp: timestamp, secret: secret))
            }
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: Self.timeout)
        let answer = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw Failure("the webhook answered \(response.status.code) \(String(buffer: answer).prefix(200))")
        }
        if [.wecom, .dingtalk].contains(target.format),
            let reply = try? JSONSerialization.jsonObject(with: Data(buffer: answer)) as? [String: Any],
            let code = reply["errcode"] as? Int, code != 0
        {
            throw Failure("the robot answered errcode \(code): \(reply["errmsg"] as? String ?? "")")
        }
    }

    /// Hex of HMAC-SHA256 over `timestamp.body` with the webhook's secret: what `X-Trellis-Signature` carries after
    /// `sha256=` (a receiver recomputes it, and refuses timestamps far from its clock).
    static func signature(of body: Data, timestamp: String, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).".utf8) + body, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    private func key(_ secret: String) -> SymmetricKey { SymmetricKey(data: Data(secret.utf8)) }

    /// Why `host` is refused once resolved (any of its addresses forbidden), nil when it may be called.
    static func forbiddenAddress(of host: String) async throws -> String? {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var found: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &found)
                guard status == 0, let first = found else {
                    continuation.resume(throwing: Failure("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
                    return
                }
                defer { freeaddrinfo(first) }
                var reason: String?
                var entry: UnsafeMutablePointer<addrinfo>? = first
                while let current = entry, reason == nil {
                    if current.pointee.ai_family == AF_INET, let address = current.pointee.ai_addr {
                        let octets = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                            withUnsafeBytes(of: pointer.pointee.sin_addr.s_addr) { Array($0) }
                        }
                        reason = WebhookAddress.forbidden(ipv4: octets)
                    } else if current.pointee.ai_family == AF_INET6, let address = current.pointee.ai_addr {
                        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                            var bytes = pointer.pointee.sin6_addr
                            _ = inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
                        }
                        reason = WebhookAddress.forbidden(ipv6: String(cString: text))
                    }
                    entry = current.pointee.ai_next
                }
                continuation.resume(returning: reason)
            }
        }
    }
}
