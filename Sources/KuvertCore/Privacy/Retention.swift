import Foundation
import Logging
import ServiceLifecycle

/// Bounded retention, as the privacy policies promise: pending subscriptions
/// not confirmed within the confirm window are deleted with their address;
/// people whose subscriptions all ended (unsubscribed, bounced) longer ago than
/// the retention period are erased.
public struct Retention: Sendable {
    /// What a purge did, or would do.
    public struct Report: Sendable, Equatable {
        public var expiredPending: Int
        public var erased: Int
        /// Per-message records older than the message retention.
        public var messages: Int

        public init(expiredPending: Int, erased: Int, messages: Int = 0) {
            self.expiredPending = expiredPending
            self.erased = erased
            self.messages = messages
        }
    }

    private let store: any PrivacyStore & RetentionStore
    private let suppression: SuppressionKey
    private let confirmTTL: TimeInterval
    private let retention: TimeInterval
    private let messageRetention: TimeInterval

    public init(
        store: any PrivacyStore & RetentionStore,
        suppression: SuppressionKey,
        confirmTTL: TimeInterval,
        retention: TimeInterval,
        messageRetention: TimeInterval = 400 * 86_400
    ) {
        self.store = store
        self.suppression = suppression
        self.confirmTTL = confirmTTL
        self.retention = retention
        self.messageRetention = messageRetention
    }

    /// Applies retention at `now`; with `dryRun`, only counts.
    public func purge(now: Date, dryRun: Bool) async throws -> Report {
        let pendingBefore = now.addingTimeInterval(-confirmTTL)
        let people = try await store.subscribersToErase(endedBefore: now.addingTimeInterval(-retention))
        if dryRun {
            return Report(
                expiredPending: try await store.expiredPendingCount(before: pendingBefore),
                erased: people.count,
                messages: try await store.oldMessageCount(before: now.addingTimeInterval(-messageRetention))
            )
        }
        let expired = try await store.deleteExpiredPending(before: pendingBefore, now: now)
        let erased = try await store.erase(
            subscribers: people.map { Erasure(id: $0.id, suppressionHash: suppression.hash(addressKey: $0.addressKey)) },
            actor: "retention",
            now: now
        )
        let messages = try await store.deleteOldMessages(before: now.addingTimeInterval(-messageRetention), now: now, batch: 10_000)
        return Report(expiredPending: expired, erased: erased, messages: messages)
    }
}

/// Runs retention when `kuvert serve` starts and every hour after, until
/// shutdown; after a failure (a store busy or away) it tries again in a minute.
public struct RetentionService: Service {
    private let retention: Retention
    private let interval: Duration
    private let retryAfterFailure: Duration
    private let logger: Logger

    public init(
        retention: Retention,
        interval: Duration = .seconds(3_600),
        retryAfterFailure: Duration = .seconds(60),
        logger: Logger
    ) {
        self.retention = retention
        self.interval = interval
        self.retryAfterFailure = min(retryAfterFailure, interval)
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var wait = interval
            do {
                let report = try await retention.purge(now: Date(), dryRun: false)
                if report.expiredPending + report.erased + report.messages > 0 {
                    logger.info(
                        "retention applied",
                        metadata: [
                            "expiredPending": "\(report.expiredPending)", "erased": "\(report.erased)", "messages": "\(report.messages)",
                        ]
                    )
                }
            } catch {
                logger.error("retention failed; trying again soon", metadata: ["error": "\(error)"])
                wait = retryAfterFailure
            }
            let pause = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}
