import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: WebhookStore {
    public func setWebhooks(enabled: Bool) async throws {
        try await connection { c in try await c.run("UPDATE webhookSetting SET enabled = \(enabled) WHERE id = 1") }
    }

    public func leaseDueWebhooks(limit: Int, leaseFor: TimeInterval, holder: LeaseHolder, now: Date) async throws -> [WebhookEvent] {
        // An event waits while an earlier one of its subscription is queued or
        // leased, also one another node is claiming right now (its row is then
        // still queued for this transaction), so each subscription's events go in order.
        try await connection { c in
            try await Self.webhookEvents(
                c,
                """
                WITH claimed AS (
                    UPDATE webhookEvent SET status = 'leased', leaseExpiresAt = \(now.addingTimeInterval(leaseFor)),
                        leaseHolder = \(holder.description)
                    WHERE id IN (
                        SELECT e.id FROM webhookEvent e
                        WHERE ((e.status = 'queued' AND e.dueAt <= \(now)) OR (e.status = 'leased' AND e.leaseExpiresAt <= \(now)))
                          AND NOT EXISTS (
                              SELECT 1 FROM webhookEvent earlier
                              WHERE earlier.subscriptionId = e.subscriptionId AND earlier.id < e.id
                                AND earlier.status IN ('queued', 'leased'))
                        ORDER BY e.id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING *
                )
                \(unescaped: Self.webhookSelect("claimed")) ORDER BY e.id
                """
            )
        }
    }

    public func recordWebhook(id: Int64, delivered: Bool, reply: String, retryAt: Date?, now: Date) async throws {
        let status = delivered ? "sent" : retryAt == nil ? "failed" : "queued"
        try await connection { c in
            try await c.run(
                """
                UPDATE webhookEvent SET attempts = attempts + 1, lastReply = \(String(reply.prefix(500))),
                    leaseExpiresAt = NULL, leaseHolder = NULL, status = \(status),
                    dueAt = coalesce(\(retryAt)::timestamptz, dueAt), sentAt = \(delivered ? now : nil)::timestamptz
                WHERE id = \(id) AND status = 'leased'
                """
            )
        }
    }

    public func webhookOverview(limit: Int) async throws -> WebhookOverview {
        try await connection { c in
            var counts: [WebhookEvent.Status: Int] = [:]
            for try await (status, count) in try await c.query(
                "SELECT status, count(*)::bigint FROM webhookEvent GROUP BY status",
                logger: Self.quiet
            ).decode((String, Int64).self) {
                if let status = WebhookEvent.Status(rawValue: status) { counts[status] = Int(count) }
            }
            let waiting = try await Self.webhookEvents(
                c,
                """
                \(unescaped: Self.webhookSelect("webhookEvent")) WHERE e.status IN ('queued', 'leased') ORDER BY e.id LIMIT \(limit)
                """
            )
            return WebhookOverview(counts: counts, waiting: waiting)
        }
    }

    /// Events of `source` (a table or a CTE) as `e`, with their list and, as it
    /// is now, their subscriber's address.
    private static func webhookSelect(_ source: String) -> String {
        """
        SELECT e.id, e.event, e.subscriptionId, l.slug, e.occurredAt, p.address, e.status, e.attempts, e.dueAt, e.lastReply,
               e.fields
        FROM \(source) e
        JOIN mailingList l ON l.id = e.listId
        LEFT JOIN subscription s ON s.id = e.subscriptionId
        LEFT JOIN subscriber p ON p.id = s.subscriberId AND p.erasedAt IS NULL
        """
    }

    private static func webhookEvents(_ c: PostgresConnection, _ query: PostgresQuery) async throws -> [WebhookEvent] {
        try await c.rows(query).map { row in
            WebhookEvent(
                id: try row["id"].decode(Int64.self),
                kind: try WebhookEvent.Kind(rawValue: row["event"].decode(String.self)).orThrow(),
                subscriptionId: try row["subscriptionid"].decode(Int64.self),
                listSlug: try row["slug"].decode(String.self),
                occurredAt: try row["occurredat"].decode(Date.self),
                address: try row["address"].decode(String?.self),
                status: try WebhookEvent.Status(rawValue: row["status"].decode(String.self)).orThrow(),
                attempts: try row["attempts"].decode(Int.self),
                dueAt: try row["dueat"].decode(Date.self),
                lastReply: try row["lastreply"].decode(String?.self),
                fields: WebhookEvent.fields(try row["fields"].decode(String?.self))
            )
        }
    }
}
