import Foundation
import Logging

/// What Kuvert does with a POST to `/webhooks/bounces/{provider}`: the
/// service's reader checks its authentication and reads its events; each
/// event that names a message of Kuvert's (by a `MessageTags` tag in the
/// Message-ID or an echoed header, never by an address) is stored with
/// `BouncePolicy` applied, as a bounce by mail is (`BounceStore.recordBounce`:
/// the ledger, the audit log, `kuvert bounces`), and counted in
/// `kuvert_bounces_total{kind}`. An event naming no message of Kuvert's
/// changes nothing; the same event twice is stored once.
public struct BounceWebhooks: Sendable {
    private let readers: [BounceWebhookProvider: any BounceWebhookReader]
    private let tags: MessageTags
    private let store: any BounceStore
    private let bounceLimit: Int
    private let metrics: KuvertMetrics
    private let logger: Logger

    /// The largest body taken: SendGrid and Mailjet batch events, each well under a kilobyte.
    public static let maximumBodySize = 1 << 20

    public init(
        readers: [BounceWebhookProvider: any BounceWebhookReader],
        tags: MessageTags,
        store: any BounceStore,
        bounceLimit: Int,
        metrics: KuvertMetrics,
        logger: Logger
    ) {
        self.readers = readers
        self.tags = tags
        self.store = store
        self.bounceLimit = bounceLimit
        self.metrics = metrics
        self.logger = logger
    }

    /// What one POST came to.
    public struct Summary: Sendable, Equatable, Codable {
        /// Events about bounces and complaints in the POST.
        public var events: Int
        /// Of those, the ones naming a message of Kuvert's, stored now.
        public var recorded: Int
        /// Stored before: the service sent them again.
        public var duplicates: Int
    }

    /// The service `provider` names and its reader.
    /// - Throws: `BounceWebhookError.notConfigured` for a service not configured, or none.
    public func reader(_ provider: String) throws(BounceWebhookError) -> (BounceWebhookProvider, any BounceWebhookReader) {
        guard let known = BounceWebhookProvider(rawValue: provider), let reader = readers[known] else {
            throw .notConfigured(
                BounceWebhookProvider(rawValue: provider).map { "\($0.variable) is not set: Kuvert takes no \($0.name) events." }
                    ?? "Kuvert takes bounce webhooks from \(BounceWebhookProvider.allCases.map(\.rawValue).joined(separator: ", ")), not '\(BounceReport.printable(String(provider.prefix(40)), limit: 40))'."
            )
        }
        return (known, reader)
    }

    /// Reads and stores what `provider` posted.
    /// - Throws: `BounceWebhookError` (nothing is stored then), or the store's
    ///   error when it cannot take the events (the service retries).
    public func take(_ provider: String, _ request: BounceWebhookRequest) async throws -> Summary {
        let (known, reader) = try self.reader(provider)
        let events = try await reader.events(request)
        var summary = Summary(events: events.count, recorded: 0, duplicates: 0)
        for event in events {
            guard let messageId = event.message.flatMap(tags.messageId(inReference:)) else {
                logger.debug("bounce webhook event names no message of Kuvert's", metadata: ["provider": "\(known.rawValue)"])
                continue
            }
            let stored = try await store.recordBounce(
                BounceEvent(
                    receivedAt: request.receivedAt,
                    outboxMessageId: messageId,
                    subscriptionId: nil,
                    kind: event.kind,
                    status: event.status,
                    action: event.action,
                    diagnostic: event.diagnostic.map { BounceReport.printable($0, limit: 300) },
                    outcome: .unchanged,
                    providerEvent: event.key
                ),
                bounceLimit: bounceLimit
            )
            guard stored.outcome != .duplicate else {
                summary.duplicates += 1
                continue
            }
            summary.recorded += 1
            metrics.bounce(kind: stored.kind)
            logger.info(
                "bounce recorded",
                metadata: [
                    "provider": "\(known.rawValue)", "message": "\(messageId)", "kind": .string(stored.kind.rawValue),
                    "status": .string(stored.status ?? "-"), "outcome": .string(stored.outcome.rawValue),
                ]
            )
        }
        return summary
    }
}

extension MessageTags {
    /// The outbox message a Message-ID Kuvert set (`<m12-….4f…@example.se>`)
    /// or a bare tag names, or nil for any other reference.
    public func messageId(inReference reference: String) -> Int64? {
        var text = reference.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("<"), text.hasSuffix(">") { text = String(text.dropFirst().dropLast()) }
        let local = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let tag = local.split(separator: ".", omittingEmptySubsequences: false).first, tag.count <= 40 else { return nil }
        return messageId(of: tag)
    }
}
