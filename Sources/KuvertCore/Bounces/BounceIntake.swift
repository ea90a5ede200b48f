import Foundation
import Logging

/// What Kuvert does with one message sent to a bounce address, whether it came
/// over LMTP or through `kuvert bounces ingest`: the recipient must be a signed
/// address naming an outbox message; the message is read (`BounceReport`) and
/// stored with `BouncePolicy` applied (`BounceStore.recordBounce`), then counted
/// and logged, never with an address.
public struct BounceIntake: Sendable {
    public let addresses: BounceAddresses
    private let store: any BounceStore
    private let bounceLimit: Int
    private let metrics: KuvertMetrics
    private let logger: Logger

    /// The largest message taken: a DSN returns at most the message it is
    /// about, and Kuvert's own are far smaller.
    public static let maximumSize = 4 << 20

    public init(addresses: BounceAddresses, store: any BounceStore, bounceLimit: Int, metrics: KuvertMetrics, logger: Logger) {
        self.addresses = addresses
        self.store = store
        self.bounceLimit = bounceLimit
        self.metrics = metrics
        self.logger = logger
    }

    /// The outbox message `recipient` names, or nil when it is no valid signed
    /// address at the bounce domain (another domain, a wrong MAC, no address).
    public func messageId(recipient: String) -> Int64? {
        addresses.messageId(of: recipient)
    }

    /// Reads `message`, a report about outbox message `messageId`, and stores
    /// what it says. Throws only when the store cannot take it (the sender
    /// should try again later).
    public func take(_ message: [UInt8], messageId: Int64, now: Date = Date()) async throws -> BounceEvent {
        try await take(BounceReport(message: message), messageId: messageId, now: now)
    }

    /// Stores what a report already read says about outbox message `messageId`
    /// (one message over LMTP with several recipients is read once).
    public func take(_ report: BounceReport, messageId: Int64, now: Date = Date()) async throws -> BounceEvent {
        let event = try await store.recordBounce(
            BounceEvent(report: report, messageId: messageId, receivedAt: now),
            bounceLimit: bounceLimit
        )
        metrics.bounce(kind: event.kind)
        logger.info(
            "bounce recorded",
            metadata: [
                "message": "\(messageId)", "kind": .string(event.kind.rawValue), "status": .string(event.status ?? "-"),
                "outcome": .string(event.outcome.rawValue),
            ]
        )
        return event
    }
}
