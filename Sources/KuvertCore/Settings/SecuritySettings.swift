import Foundation

/// What protects the public routes from abuse and from telling what they found.
public struct SecuritySettings: Sendable {
    /// `KUVERT_RATE_LIMIT`: requests per client address to the public POST routes.
    public var clientRateLimit: RateLimiter.Limit
    /// `KUVERT_ADDRESS_RATE_LIMIT`: requests naming one target address (subscribe, privacy link), from anyone.
    public var addressRateLimit: RateLimiter.Limit
    /// `KUVERT_API_RATE_LIMIT`: requests per API token to `/api/v1/`.
    public var apiRateLimit: RateLimiter.Limit
    /// `KUVERT_RATE_LIMIT_IPV6_PREFIX`: the leading bits of an IPv6 client's
    /// address that `KUVERT_RATE_LIMIT` counts it by (a provider gives each
    /// customer a /64 or more, every address of it one request away).
    public var ipv6PrefixLength: Int
    /// `KUVERT_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` is believed:
    /// IPv4 addresses or CIDR ranges, IPv6 addresses.
    public var trustedProxies: [String]
    /// `KUVERT_FORM_MIN_SECONDS`: the least time between rendering the embeddable
    /// form and submitting it; quicker submissions are taken for bots.
    public var formMinimumSeconds: TimeInterval
    /// `KUVERT_ANSWER_FLOOR`: the least time before intake and privacy requests
    /// are answered, so that what a request found (a new address, a known one)
    /// cannot be told from the answer's timing.
    public var answerFloor: TimeInterval
    /// `KUVERT_FRAME_ANCESTORS`: the sites that may frame the embeddable form
    /// and the answers to its posts (CSP `frame-ancestors` sources); `*` for any.
    /// Every other page may be framed by nobody.
    public var frameAncestors: [String]

    public init() {
        clientRateLimit = .init(count: 30, window: 60)
        addressRateLimit = .init(count: 5, window: 3_600)
        apiRateLimit = .init(count: 600, window: 60)
        ipv6PrefixLength = 64
        trustedProxies = []
        formMinimumSeconds = 3
        // Above both paths' p99 with the floor off (4.7 ms for a new address, 3.5 ms for a
        // known one, measured on the 2-core benchmark machine), and low enough not to cap
        // 64 waiting connections below the intake target (64 / 5 ms = 12,800 req/s).
        answerFloor = 0.005
        frameAncestors = ["*"]
    }

    /// Whether `source` is a `frame-ancestors` source Kuvert accepts: `*`,
    /// `'self'`, or an http(s) origin, its host possibly `*.`-prefixed.
    public static func isFrameAncestor(_ source: String) -> Bool {
        if source == "*" || source == "'self'" { return true }
        guard let scheme = source.range(of: "://"), ["http", "https"].contains(source[..<scheme.lowerBound]) else { return false }
        var rest = source[scheme.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
        else { return false }
        if parts.count == 2 { return parts[1] == "*" || UInt16(parts[1]) != nil }
        return true
    }

    public init(_ source: SettingSource) throws {
        self.init()
        if let text = source.string("KUVERT_RATE_LIMIT") {
            clientRateLimit = try RateLimiter.Limit(parsing: text, setting: "KUVERT_RATE_LIMIT")
        }
        if let text = source.string("KUVERT_ADDRESS_RATE_LIMIT") {
            addressRateLimit = try RateLimiter.Limit(parsing: text, setting: "KUVERT_ADDRESS_RATE_LIMIT")
        }
        if let text = source.string("KUVERT_API_RATE_LIMIT") {
            apiRateLimit = try RateLimiter.Limit(parsing: text, setting: "KUVERT_API_RATE_LIMIT")
        }
        if let text = source.string("KUVERT_RATE_LIMIT_IPV6_PREFIX") {
            guard let bits = Int(text), (16...128).contains(bits) else {
                throw KuvertError.configuration(
                    "KUVERT_RATE_LIMIT_IPV6_PREFIX must be a prefix length from 16 to 128 (64 by default), not '\(SettingSource.shown(text))'."
                )
            }
            ipv6PrefixLength = bits
        }
        if let text = source.string("KUVERT_TRUSTED_PROXIES") {
            trustedProxies = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for proxy in trustedProxies where !TrustedProxies.isValid(proxy) {
                throw KuvertError.configuration(
                    "KUVERT_TRUSTED_PROXIES holds '\(SettingSource.shown(proxy))', which is no IP address or IPv4 CIDR range."
                )
            }
        }
        if let text = source.string("KUVERT_FRAME_ANCESTORS") {
            let sources = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            guard !sources.isEmpty else {
                throw KuvertError.configuration(
                    "KUVERT_FRAME_ANCESTORS is empty: name the sites that may frame the form (https://www.example.se), or * for any."
                )
            }
            for source in sources where !Self.isFrameAncestor(source) {
                throw KuvertError.configuration(
                    "KUVERT_FRAME_ANCESTORS holds '\(SettingSource.shown(source))', which is no site: write origins such as https://www.example.se, separated by spaces."
                )
            }
            frameAncestors = sources
        }
        formMinimumSeconds = try source.duration("KUVERT_FORM_MIN_SECONDS", default: formMinimumSeconds, allowZero: true)
        answerFloor = try source.duration("KUVERT_ANSWER_FLOOR", default: answerFloor, allowZero: true)
        guard answerFloor <= 5 else {
            throw KuvertError.configuration(
                "KUVERT_ANSWER_FLOOR must be at most 5s, not '\(SettingSource.shown(source.string("KUVERT_ANSWER_FLOOR") ?? ""))'."
            )
        }
    }
}
