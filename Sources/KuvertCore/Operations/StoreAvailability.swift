import Foundation
import Logging
import Synchronization

/// What one process has seen of its store's failures: `/healthz` answers
/// `503` while writes fail, and the log gets one line per kind of failure
/// (at most one a minute for each, with the count since), not one per request.
///
/// A failed write marks the store failing for `hold`; after that `/healthz`
/// tries a write of its own before it answers `200` again. The hold keeps a
/// node out of a load balancer for a while rather than in and out with every
/// probe that found a little room (an SQLite WAL reuses its space, so a
/// one-page write may pass while a request's fail).
public final class StoreAvailability: Sendable {
    private struct State {
        var lastFailure: Date?
        var failuresSinceRecovery = 0
        var lastLogged: [StoreUnavailable.Reason: Date] = [:]
        var unlogged: [StoreUnavailable.Reason: Int] = [:]
    }

    private let state = Mutex(State())
    private let logger: Logger
    /// How long after a failed write the store counts as failing.
    public let hold: TimeInterval
    /// The least time between two log lines for one kind of failure.
    public let logInterval: TimeInterval

    public init(logger: Logger, hold: TimeInterval = 10, logInterval: TimeInterval = 60) {
        self.logger = logger
        self.hold = hold
        self.logInterval = logInterval
    }

    /// Counts a request the store failed, and logs it when its kind has not
    /// been logged for `logInterval`.
    public func failed(_ failure: StoreUnavailable, route: String, now: Date = Date()) {
        let suppressed: Int? = state.withLock { state in
            state.lastFailure = now
            state.failuresSinceRecovery += 1
            if let last = state.lastLogged[failure.reason], now.timeIntervalSince(last) < logInterval {
                state.unlogged[failure.reason, default: 0] += 1
                return nil
            }
            state.lastLogged[failure.reason] = now
            return state.unlogged.removeValue(forKey: failure.reason) ?? 0
        }
        guard let suppressed else { return }
        logger.error(
            "store \(failure.reason.rawValue): requests answer 503",
            metadata: [
                "cause": "\(failure.detail)", "route": "\(route)",
                "alsoFailedSinceLastLine": "\(suppressed)",
            ]
        )
    }

    /// Whether writes are known to fail: within `hold` of the last failure.
    public func isFailing(now: Date = Date()) -> Bool {
        state.withLock { state in state.lastFailure.map { now.timeIntervalSince($0) < hold } ?? false }
    }

    /// Whether a write must be tried before the store counts as healthy: a
    /// failure was seen and no write has succeeded since.
    public var needsProbe: Bool { state.withLock { $0.lastFailure != nil } }

    /// A probe wrote: the store takes writes again. Logged once.
    public func recovered() {
        let failures: Int? = state.withLock { state in
            guard state.lastFailure != nil else { return nil }
            defer { state = State() }
            return state.failuresSinceRecovery
        }
        if let failures {
            logger.notice("store takes writes again", metadata: ["failedRequests": "\(failures)"])
        }
    }
}
