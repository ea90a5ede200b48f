import Foundation
import Logging
import ServiceLifecycle

/// The deadline job of terms changes: finishes queueing a change a crash
/// interrupted, sends a re-consent's one reminder at half its deadline, and
/// lapses who did not accept at the deadline. It runs at start (so a deadline
/// that passed while every node was down is applied then), at each next
/// moment the store names, and at least every `interval` (a change opened by
/// `kuvert lists terms` in another process is seen within it; the look is
/// one indexed query). On several nodes
/// each step is safe to run at once: the store serialises them.
public struct TermsDeadlineService: Service {
    private let store: any TermsChangeStore
    private let interval: Duration
    private let retryAfterFailure: Duration
    private let batchSize: Int
    private let wake: (@Sendable () -> Void)?
    private let logger: Logger

    /// - Parameter wake: called when mail was queued, so the mailer starts at once.
    public init(
        store: any TermsChangeStore,
        interval: Duration = .seconds(5),
        retryAfterFailure: Duration = .seconds(5),
        batchSize: Int = 10_000,
        wake: (@Sendable () -> Void)? = nil,
        logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.retryAfterFailure = min(retryAfterFailure, interval)
        self.batchSize = batchSize
        self.wake = wake
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var wait = interval
            do {
                let report = try await store.applyTermsDeadlines(now: Date(), batchSize: batchSize)
                if !report.isEmpty {
                    logger.info(
                        "terms change deadlines applied",
                        metadata: [
                            "queued": "\(report.queued)", "reminded": "\(report.reminded)", "lapsed": "\(report.lapsed)",
                            "closed": "\(report.closed)",
                        ]
                    )
                    if report.queued + report.reminded > 0 { wake?() }
                }
                if let next = try await store.nextTermsDeadline() {
                    // A moment a hair after the next one, never busy-looping on one already due.
                    let seconds = max(next.timeIntervalSinceNow, 0) + 0.05
                    wait = min(wait, .milliseconds(Int64(seconds * 1000)))
                }
            } catch {
                logger.error("terms change deadlines failed; trying again soon", metadata: ["error": "\(error)"])
                wait = retryAfterFailure
            }
            let pause = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}
