import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: BounceStore {
    public func recordBounce(_ event: BounceEvent, bounceLimit: Int) async throws -> BounceEvent {
        try await transaction { c in
            var event = event
            let now = event.receivedAt
            if let key = event.providerEvent {
                // The same event delivered twice at once: the second waits for the first, then finds it.
                try await c.run("SELECT pg_advisory_xact_lock(hashtext('kuvert provider event ' || \(key)))")
                if try await c.rows("SELECT 1 FROM bounceEvent WHERE providerEvent = \(key)").first != nil {
                    event.outcome = .duplicate
                    return event
                }
            }
            let message = try await c.rows(
                "SELECT subscriptionId FROM outboxMessage WHERE id = \(event.outboxMessageId)"
            ).first
            // Message retention may have removed the record the address named.
            if message == nil { event.outboxMessageId = nil }
            var owner: (subscriberId: Int64, listId: Int64)?
            if let subscriptionId = try message?["subscriptionid"].decode(Int64?.self),
                let row = try await c.rows(
                    """
                    SELECT s.subscriberId, s.listId, s.status, s.refusalStreak, p.erasedAt IS NOT NULL AS erased
                    FROM subscription s JOIN subscriber p ON p.id = s.subscriberId
                    WHERE s.id = \(subscriptionId) FOR UPDATE OF s
                    """
                ).first
            {
                event.subscriptionId = subscriptionId
                let (subscriberId, listId) = (try row["subscriberid"].decode(Int64.self), try row["listid"].decode(Int64.self))
                owner = (subscriberId, listId)
                if try row["erased"].decode(Bool.self) {
                    // Nothing to revive, and nothing of the person to keep.
                    event.diagnostic = nil
                } else {
                    let ongoing = ["pending", "active"].contains(try row["status"].decode(String.self))
                    let streak = try row["refusalstreak"].decode(Int.self)
                    event.outcome = try await Self.apply(
                        BouncePolicy.effect(of: event.kind),
                        subscriptionId,
                        subscriberId: subscriberId,
                        listId: listId,
                        ongoing: ongoing,
                        streak: streak,
                        limit: bounceLimit,
                        now: now,
                        c
                    )
                }
            }
            event.id = try await c.value(
                """
                INSERT INTO bounceEvent (receivedAt, outboxMessageId, subscriptionId, kind, status, action, diagnostic, outcome,
                                         providerEvent)
                VALUES (\(now), \(event.outboxMessageId), \(event.subscriptionId), \(event.kind.rawValue), \(event.status),
                        \(event.action), \(event.diagnostic), \(event.outcome.rawValue), \(event.providerEvent))
                RETURNING id
                """,
                as: Int64.self
            )
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(now), 'bounce', 'bounce.received', \(owner?.subscriberId), \(owner?.listId), \(event.auditDetail))
                """
            )
            return event
        }
    }

    /// `BouncePolicy` for a report about a subscription locked by the caller,
    /// as `BouncePolicy.step` decides (and the SQLite store applies it,
    /// `SQLiteStore.apply`); PL/pgSQL's `kuvert_record_delivery` repeats the
    /// decision for the delivery records.
    private static func apply(
        _ effect: BouncePolicy.Effect,
        _ id: Int64,
        subscriberId: Int64,
        listId: Int64,
        ongoing: Bool,
        streak: Int,
        limit: Int,
        now: Date,
        _ c: PostgresConnection
    ) async throws -> BounceEvent.Outcome {
        switch effect {
        case .none:
            return .unchanged
        case .resetsCount:
            try await c.run("UPDATE subscription SET refusalStreak = 0 WHERE id = \(id) AND refusalStreak != 0")
            return .unchanged
        case .countsTowardsBounce, .bouncesNow:
            let reason: String? =
                if case .bounce(let reason) = BouncePolicy.step(effect, ongoing: ongoing, streak: streak, limit: limit) { reason } else { nil }
            let bounces = reason != nil
            try await c.run(
                """
                UPDATE subscription SET refusalStreak = refusalStreak + 1,
                    status = CASE WHEN \(bounces) THEN 'bounced' ELSE status END,
                    endedAt = CASE WHEN \(bounces) THEN \(now) ELSE endedAt END,
                    updatedAt = CASE WHEN \(bounces) THEN \(now) ELSE updatedAt END
                WHERE id = \(id)
                """
            )
            guard bounces else { return ongoing ? .counted : .unchanged }
            let detail = reason ?? ""
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(now), 'bounce', 'subscription.bounced', \(subscriberId), \(listId), \(detail))
                """
            )
            return .bounced
        case .unsubscribes:
            guard ongoing else { return .unchanged }
            try await c.run(
                """
                WITH ended AS (
                    UPDATE subscription SET status = 'unsubscribed', endedAt = \(now), updatedAt = \(now) WHERE id = \(id)
                ), consent AS (
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source)
                    VALUES (\(id), 'withdrawn', \(now), 'complaint')
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(now), 'bounce', 'subscription.withdrawn', \(subscriberId), \(listId), 'complaint')
                """
            )
            return .unsubscribed
        }
    }

    public func latestBounces(limit: Int) async throws -> [BounceListing] {
        try await connection { c in
            try await c.rows(
                """
                SELECT \(unescaped: BounceEvent.select("b")), nullif(p.address, '') AS address, l.slug
                FROM bounceEvent b
                LEFT JOIN subscription s ON s.id = b.subscriptionId
                LEFT JOIN subscriber p ON p.id = s.subscriberId
                LEFT JOIN mailingList l ON l.id = s.listId
                ORDER BY b.id DESC LIMIT \(limit)
                """
            ).map { row in
                BounceListing(
                    event: try BounceEvent(row, "b"),
                    address: try row["address"].decode(String?.self),
                    listSlug: try row["slug"].decode(String?.self)
                )
            }
        }
    }

    public func bounces(messageId: Int64) async throws -> [BounceEvent] {
        try await connection { c in
            try await c.rows(
                "SELECT \(unescaped: BounceEvent.select("b")) FROM bounceEvent b WHERE b.outboxMessageId = \(messageId) ORDER BY b.id"
            ).map { try BounceEvent($0, "b") }
        }
    }

    /// Every event about a person's subscriptions, by subscription, oldest first.
    static func bounces(_ c: PostgresConnection, subscriberId: Int64) async throws -> [Int64: [BounceEvent]] {
        Dictionary(
            grouping: try await c.rows(
                """
                SELECT \(unescaped: BounceEvent.select("b")) FROM bounceEvent b JOIN subscription s ON s.id = b.subscriptionId
                WHERE s.subscriberId = \(subscriberId) ORDER BY b.id
                """
            ).map { try BounceEvent($0, "b") }
        ) { $0.subscriptionId ?? -1 }
    }
}
