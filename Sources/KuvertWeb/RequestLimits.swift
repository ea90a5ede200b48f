import Foundation
import HTTPTypes
import Hummingbird
import KuvertCore

/// The rate limits of the public POST routes: counted in this process, and
/// also in the store when it is shared by several nodes, so that a client
/// cannot multiply its allowance by the number of nodes.
struct RequestLimits: Sendable {
    let perClient: RateLimiter
    let perAddress: RateLimiter
    let perToken: RateLimiter
    /// `KUVERT_RATE_LIMIT_IPV6_PREFIX`: an IPv6 client is counted by this many leading bits.
    let ipv6PrefixLength: Int
    /// The store's shared counts, and the key that hashes what they count
    /// (client and target addresses are personal data: never stored in clear).
    let shared: (counts: any SharedRateLimits, key: SuppressionKey)?

    /// Seconds to wait when the client has sent too many requests.
    /// - Throws: `StoreUnavailable` when the shared counts cannot be reached.
    func client(_ context: KuvertRequestContext) async throws -> Int? {
        let client = context.clientIP.map { ClientKey.key(for: $0, ipv6PrefixLength: ipv6PrefixLength) } ?? "unknown"
        return try await check(perClient, scope: "client", key: client)
    }

    /// Seconds to wait when too many requests named this address, from anyone.
    func address(_ raw: String) async throws -> Int? {
        let key = (try? EmailAddress(raw).key) ?? String(raw.trimmingCharacters(in: .whitespaces).lowercased().prefix(320))
        return try await check(perAddress, scope: "address", key: key)
    }

    /// Seconds to wait when the API token `name` has made too many requests.
    func token(_ name: String) async throws -> Int? {
        try await check(perToken, scope: "token", key: name)
    }

    /// The local count first (it also stops a flood before it reaches the
    /// store), then the shared one. A store that cannot be reached fails the
    /// request at once (503): it would fail on the store anyway, after waiting
    /// out the store's patience a second time.
    private func check(_ local: RateLimiter, scope: String, key: String) async throws -> Int? {
        if let wait = local.check(key) { return wait }
        guard let shared else { return nil }
        let hashed = shared.key.hash(addressKey: "rate-limit \(scope) \(key)")
        do {
            return try await shared.counts.countRequest(key: hashed, limit: local.limit, now: Date())
        } catch let error as StoreUnavailable {
            throw error
        } catch {
            return nil
        }
    }

    static func tooMany(retryAfter seconds: Int) -> WebError {
        WebError(
            status: .tooManyRequests,
            code: "rate_limited",
            message: "Too many requests: try again in \(seconds) seconds.",
            swedish: "För många försök på kort tid. Vänta \(seconds) sekunder och försök igen."
        )
    }
}
