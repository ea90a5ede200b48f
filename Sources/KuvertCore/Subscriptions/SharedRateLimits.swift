import Foundation

/// Request counts kept where every node sees them, so that a rate limit holds
/// for a client that spreads its requests over several nodes. A store shared
/// by several machines offers it; on one machine the in-memory `RateLimiter`
/// is the same limit.
public protocol SharedRateLimits: Sendable {
    /// Counts a request for `key` (a keyed hash: never an address or an IP in
    /// clear) in its fixed window; nil when allowed, else the seconds to wait.
    func countRequest(key: String, limit: RateLimiter.Limit, now: Date) async throws -> Int?
}

/// Whether a store keeps rate limits that its nodes share: a store that one
/// process owns (SQLite) has none, and the in-memory limits are the limits.
public protocol RateLimitSharing: Sendable {
    /// The shared counts; nil when limits stay in each process.
    var sharedRateLimits: (any SharedRateLimits)? { get }
}

extension RateLimitSharing {
    public var sharedRateLimits: (any SharedRateLimits)? { nil }
}
