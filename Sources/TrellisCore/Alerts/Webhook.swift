import Foundation

/// The body a webhook is sent: Trellis's own JSON (signed with an HMAC header when the webhook has a secret), or the
/// message bodies of Slack's, WeCom's (企业微信) and DingTalk's (钉钉) incoming-webhook robots.
public enum WebhookFormat: String, Codable, Sendable, CaseIterable {
    case json, slack, wecom, dingtalk
}

/// A project's webhook (`settings.webhooks.NAME`). Its URL and secret are kept sealed by the identity service, as a
/// chat robot's URL is its key: settings show only the URL's scheme and host (`endpoint`) and whether it signs.
///
/// In a document: `{url, format, secret}`; `url` left out keeps the stored one, `secret` sets a new key, and
/// `signed: true` without a `secret` keeps the stored key (`signed: false`, or neither, drops it).
public struct Webhook: Codable, Sendable, Equatable {
    public var format: WebhookFormat
    /// `scheme://host[:port]` of the URL.
    public var endpoint: String
    /// Whether requests are signed with the webhook's secret.
    public var signed: Bool
    /// A URL sent in an update (write-only: never encoded).
    public var newURL: String?
    /// A secret sent in an update (write-only: never encoded).
    public var newSecret: String?

    public init(format: WebhookFormat = .json, url: String, secret: String? = nil) {
        self.format = format
        endpoint = Self.endpoint(of: url) ?? ""
        signed = secret != nil
        newURL = url
        newSecret = secret
    }

    enum CodingKeys: String, CodingKey { case format, endpoint, signed, url, secret }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decodeIfPresent(WebhookFormat.self, forKey: .format) ?? .json
        newURL = try container.decodeIfPresent(String.self, forKey: .url)
        newSecret = try container.decodeIfPresent(String.self, forKey: .secret)
        let storedEndpoint = try container.decodeIfPresent(String.self, forKey: .endpoint)
        endpoint = newURL.flatMap(Self.endpoint(of:)) ?? storedEndpoint ?? ""
        let storedSigned = try container.decodeIfPresent(Bool.self, forKey: .signed)
        signed = newSecret != nil || storedSigned == true
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(endpoint, forKey: .endpoint)
        try container.encode(signed, forKey: .signed)
    }

    /// The names its sealed values are kept under (beside the project's secret env entries, which are environment
    /// variable names and so never hold a dot).
    public static func urlSecretName(_ name: String) -> String { "webhook.\(name).url" }
    public static func keySecretName(_ name: String) -> String { "webhook.\(name).secret" }

    /// Every problem of the webhook named `name`, under `field` (`settings.webhooks.NAME`).
    public func problems(name: String, at field: String) -> [ValidationError] {
        var problems: [ValidationError] = []
        problems.record { () throws(ValidationError) in try Names.validateResourceName(name, field: field) }
        if let newURL {
            problems.record { () throws(ValidationError) in try WebhookAddress.check(newURL, field: "\(field).url") }
        }
        if let newSecret, newSecret.utf8.count < 8 || newSecret.utf8.count > 4096 {
            problems.append(ValidationError(field: "\(field).secret", "a webhook's secret is 8 to 4,096 bytes"))
        }
        return problems
    }

    static func endpoint(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }
}

/// Where webhooks may not go: link-local addresses (a cloud's metadata service at 169.254.169.254 hands out the
/// node's credentials), unspecified and multicast addresses. Loopback and private networks stay allowed: a
/// company's chat robot is often on its own network.
public enum WebhookAddress {
    /// Checks a webhook URL as written: http(s), a host, no credentials, no forbidden literal address.
    public static func check(_ text: String, field: String) throws(ValidationError) {
        guard text.utf8.count <= 2048 else { throw ValidationError(field: field, "must be at most 2,048 bytes") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            ["http", "https"].contains(scheme)
        else { throw ValidationError(field: field, "\"\(text.prefix(100))\" is not an http:// or https:// URL") }
        guard let host = components.host, !host.isEmpty else { throw ValidationError(field: field, "names no host") }
        guard components.user == nil, components.password == nil else {
            throw ValidationError(field: field, "must not hold a user or password (sign requests with the webhook's secret)")
        }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if let reason = forbiddenLiteral(bare) { throw ValidationError(field: field, "\(host) is \(reason): webhooks may not go there") }
    }

    /// Why a host written as an address (or as a number a resolver reads as one, such as `2852039166`) is refused.
    static func forbiddenLiteral(_ host: String) -> String? {
        if host == "metadata.google.internal" || host == "metadata" { return "a cloud metadata service" }
        if host.contains(":") {
            return forbidden(ipv6: host)
        }
        let looksNumeric = host.allSatisfy { $0.isHexDigit || $0 == "." || $0 == "x" } && host.first?.isNumber == true
        guard looksNumeric else { return nil }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let octets = parts.compactMap { UInt8($0) }
        guard parts.count == 4, octets.count == 4, parts.allSatisfy({ $0 == "0" || !$0.hasPrefix("0") }) else {
            return "an address written in a form resolvers read differently (write it as a.b.c.d)"
        }
        return forbidden(ipv4: octets)
    }

    /// Why an IPv4 address is refused, nil when it is allowed.
    public static func forbidden(ipv4 octets: [UInt8]) -> String? {
        guard octets.count == 4 else { return "not an address" }
        if octets[0] == 169 && octets[1] == 254 { return "a link-local address" }
        if octets[0] == 0 { return "an unspecified address" }
        if octets[0] >= 224 { return "a multicast or reserved address" }
        return nil
    }

    /// Why an IPv6 address (as text) is refused, nil when it is allowed.
    public static func forbidden(ipv6 text: String) -> String? {
        let lowered = text.lowercased()
        if lowered == "::" { return "an unspecified address" }
        if ["fe8", "fe9", "fea", "feb"].contains(where: lowered.hasPrefix) { return "a link-local address" }
        if lowered.hasPrefix("ff") { return "a multicast address" }
        if lowered.hasPrefix("fd00:ec2::254") { return "a cloud metadata service" }
        // An IPv4 address in IPv6 clothing: judged as itself.
        if let mapped = lowered.split(separator: ":").last, mapped.contains(".") {
            let octets = mapped.split(separator: ".").compactMap { UInt8($0) }
            if octets.count == 4 { return forbidden(ipv4: octets) }
        }
        return nil
    }
}
