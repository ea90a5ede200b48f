import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: WebhookStore {
    public func setWebhooks(enabled: Bool) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE webhookSetting SET enabled = ? WHERE id = 1", arguments: [enabled ? 1 : 0])
        }
    }

    public func leaseDueWebhooks(limit: Int, leaseFor: TimeInterval, holder: LeaseHolder, now: Date) async throws -> [WebhookEvent] {
        try await writer.write { db in
            let ids = try Int64.fetchAll(
                db,
                sql: """
                    UPDATE webhookEvent SET status = 'leased', leaseExpiresAt = :until, leaseHolder = :holder
                    WHERE id IN (
                        SELECT event.id FROM webhookEvent AS event
                        WHERE ((event.status = 'queued' AND event.dueAt <= :now)
                               OR (event.status = 'leased' AND event.leaseExpiresAt <= :now))
                          AND NOT EXISTS (
                              SELECT 1 FROM webhookEvent AS earlier
                              WHERE earlier.subscriptionId = event.subscriptionId AND earlier.id < event.id
                                AND earlier.status IN ('queued', 'leased'))
                        ORDER BY event.id LIMIT :limit)
                    RETURNING id
                    """,
                arguments: [
                    "until": StoreTime.value(now.addingTimeInterval(leaseFor)), "now": StoreTime.value(now), "limit": limit,
                    "holder": holder.description,
                ]
            )
            return try Self.webhookEvents(db, where: "event.id IN (\(databaseQuestionMarks(count: ids.count)))", StatementArguments(ids))
        }
    }

    public func recordWebhook(id: Int64, delivered: Bool, reply: String, retryAt: Date?, now: Date) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE webhookEvent SET attempts = attempts + 1, lastReply = :reply, leaseExpiresAt = NULL, leaseHolder = NULL,
                        status = CASE WHEN :delivered THEN 'sent' WHEN :retryAt IS NOT NULL THEN 'queued' ELSE 'failed' END,
                        dueAt = coalesce(:retryAt, dueAt), sentAt = CASE WHEN :delivered THEN :now END
                    WHERE id = :id AND status = 'leased'
                    """,
                arguments: [
                    "id": id, "delivered": delivered, "reply": String(reply.prefix(500)),
                    "retryAt": retryAt.map(StoreTime.value), "now": StoreTime.value(now),
                ]
            )
        }
    }

    public func webhookOverview(limit: Int) async throws -> WebhookOverview {
        try await writer.read { db in
            var counts: [WebhookEvent.Status: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM webhookEvent GROUP BY status") {
                if let status = WebhookEvent.Status(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            let waiting = try Self.webhookEvents(db, where: "event.status IN ('queued', 'leased')", [], limit: limit)
            return WebhookOverview(counts: counts, waiting: waiting)
        }
    }

    /// Events with their list and, as it is now, their subscriber's address, oldest first.
    private static func webhookEvents(
        _ db: Database,
        where condition: String,
        _ arguments: StatementArguments,
        limit: Int? = nil
    ) throws -> [WebhookEvent] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT event.*, mailingList.slug, subscriber.address
                FROM webhookEvent AS event
                JOIN mailingList ON mailingList.id = event.listId
                LEFT JOIN subscription ON subscription.id = event.subscriptionId
                LEFT JOIN subscriber ON subscriber.id = subscription.subscriberId AND subscriber.erasedAt IS NULL
                WHERE \(condition) ORDER BY event.id \(limit.map { "LIMIT \($0)" } ?? "")
                """,
            arguments: arguments
        ).map { row in
            WebhookEvent(
                id: row["id"],
                kind: try WebhookEvent.Kind(rawValue: row["event"]).orThrow(),
                subscriptionId: row["subscriptionId"],
                listSlug: row["slug"],
                occurredAt: row["occurredAt"],
                address: row["address"],
                status: try WebhookEvent.Status(rawValue: row["status"]).orThrow(),
                attempts: row["attempts"],
                dueAt: row["dueAt"],
                lastReply: row["lastReply"],
                fields: WebhookEvent.fields(row["fields"])
            )
        }
    }
}
