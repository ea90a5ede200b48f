import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: BounceStore {
    public func recordBounce(_ event: BounceEvent, bounceLimit: Int) async throws -> BounceEvent {
        try await writer.write { db in
            var event = event
            if let key = event.providerEvent, try BounceEvent.filter(Column("providerEvent") == key).fetchCount(db) > 0 {
                event.outcome = .duplicate
                return event
            }
            let owner = try Row.fetchOne(
                db,
                sql: """
                    SELECT subscription.id, subscription.subscriberId, subscription.listId, subscriber.erasedAt IS NOT NULL AS erased
                    FROM outboxMessage
                    LEFT JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                    LEFT JOIN subscriber ON subscriber.id = subscription.subscriberId
                    WHERE outboxMessage.id = ?
                    """,
                arguments: [event.outboxMessageId]
            )
            // Message retention may have removed the record the address named.
            if owner == nil { event.outboxMessageId = nil }
            event.subscriptionId = owner?["id"]
            if let owner, owner["erased"] as Bool? == true {
                // Nothing to revive, and nothing of the person to keep.
                event.diagnostic = nil
            } else {
                event.outcome = try Self.apply(
                    BouncePolicy.effect(of: event.kind),
                    subscriptionId: event.subscriptionId,
                    limit: bounceLimit,
                    now: event.receivedAt,
                    actor: "bounce",
                    db
                )
            }
            try event.insert(db)
            var audit = AuditEvent(
                occurredAt: event.receivedAt,
                actor: "bounce",
                action: "bounce.received",
                subscriberId: owner?["subscriberId"],
                listId: owner?["listId"],
                detail: event.auditDetail
            )
            try audit.insert(db)
            return event
        }
    }

    public func latestBounces(limit: Int) async throws -> [BounceListing] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT bounceEvent.*, nullif(subscriber.address, '') AS address, mailingList.slug
                    FROM bounceEvent
                    LEFT JOIN subscription ON subscription.id = bounceEvent.subscriptionId
                    LEFT JOIN subscriber ON subscriber.id = subscription.subscriberId
                    LEFT JOIN mailingList ON mailingList.id = subscription.listId
                    ORDER BY bounceEvent.id DESC LIMIT ?
                    """,
                arguments: [limit]
            ).map { BounceListing(event: try BounceEvent(row: $0), address: $0["address"], listSlug: $0["slug"]) }
        }
    }

    public func bounces(messageId: Int64) async throws -> [BounceEvent] {
        try await writer.read { db in
            try BounceEvent.filter(Column("outboxMessageId") == messageId).order(Column("id")).fetchAll(db)
        }
    }

    /// Every event about a person's subscriptions, by subscription, oldest first.
    static func bounces(_ db: Database, subscriberId: Int64) throws -> [Int64: [BounceEvent]] {
        Dictionary(
            grouping: try BounceEvent.fetchAll(
                db,
                sql: """
                    SELECT bounceEvent.* FROM bounceEvent JOIN subscription ON subscription.id = bounceEvent.subscriptionId
                    WHERE subscription.subscriberId = ? ORDER BY bounceEvent.id
                    """,
                arguments: [subscriberId]
            )
        ) { $0.subscriptionId ?? -1 }
    }
}
