import Foundation
import HTTPTypes
import Hummingbird
import KuvertCore

/// The rate limits of the public POST routes.
struct RequestLimits: Sendable {
    let perClient: RateLimiter
    let perAddress: RateLimiter

    /// Seconds to wait when the client has sent too many requests.
    func client(_ context: KuvertRequestContext) -> Int? {
        perClient.check(context.clientIP ?? "unknown")
    }

    /// Seconds to wait when too many requests named this address, from anyone.
    func address(_ raw: String) -> Int? {
        let key = (try? EmailAddress(raw).key) ?? String(raw.trimmingCharacters(in: .whitespaces).lowercased().prefix(320))
        return perAddress.check(key)
    }

    static func tooMany(retryAfter seconds: Int) -> WebError {
        WebError(status: .tooManyRequests, code: "rate_limited", message: "Too many requests: try again in \(seconds) seconds.")
    }
}
