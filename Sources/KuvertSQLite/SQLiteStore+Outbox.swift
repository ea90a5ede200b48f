import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: OutboxStore {
    public func retryFailed(id: Int64?, actor: String, now: Date) async throws -> [Int64] {
        try await writer.write { db in
            let ids = try Int64.fetchAll(
                db,
                sql: """
                    UPDATE outboxMessage SET status = 'queued', dueAt = :now, attempts = 0, leaseExpiresAt = NULL, leaseHolder = NULL
                    WHERE status = 'failed' AND (:id IS NULL OR id = :id)
                    RETURNING id
                    """,
                arguments: ["now": StoreTime.value(now), "id": id]
            )
            if !ids.isEmpty {
                var audit = AuditEvent(
                    occurredAt: now,
                    actor: actor,
                    action: "queue.retry",
                    detail: ids.count == 1 ? "message #\(ids[0])" : "\(ids.count) failed messages"
                )
                try audit.insert(db)
            }
            return ids.sorted()
        }
    }

    public func queueOverview(now: Date, limit: Int) async throws -> QueueOverview {
        try await writer.read { db in
            let counts = try Row.fetchOne(
                db,
                sql: """
                    SELECT
                      count(*) FILTER (WHERE status = 'queued' AND dueAt <= :now) AS due,
                      count(*) FILTER (WHERE status = 'queued' AND dueAt > :now AND attempts = 0) AS scheduled,
                      count(*) FILTER (WHERE status = 'queued' AND dueAt > :now AND attempts > 0) AS retrying,
                      count(*) FILTER (WHERE status = 'leased') AS leased,
                      count(*) FILTER (WHERE status = 'sent') AS sent,
                      count(*) FILTER (WHERE status = 'failed') AS failed,
                      count(*) FILTER (WHERE status = 'skipped') AS skipped
                    FROM outboxMessage
                    """,
                arguments: ["now": StoreTime.value(now)]
            ).orThrow()
            return QueueOverview(
                due: counts["due"],
                scheduled: counts["scheduled"],
                leased: counts["leased"],
                retrying: counts["retrying"],
                sent: counts["sent"],
                failed: counts["failed"],
                skipped: counts["skipped"],
                waiting: try Self.entries(
                    db,
                    where: "outboxMessage.status IN ('queued', 'leased')",
                    order: "outboxMessage.dueAt, outboxMessage.id",
                    limit: limit
                ),
                recentFailures: try Self.entries(
                    db,
                    where: "outboxMessage.status = 'failed'",
                    order: "outboxMessage.id DESC",
                    limit: limit
                )
            )
        }
    }

    public func outboxDepth(now: Date) async throws -> OutboxDepth {
        try await writer.read { db in
            let now = StoreTime.value(now)
            let count = { (sql: String) in try Int.fetchOne(db, sql: sql, arguments: [now]) ?? 0 }
            return OutboxDepth(
                due: try count("SELECT count(*) FROM outboxMessage WHERE status = 'queued' AND dueAt <= ?"),
                scheduled: try count("SELECT count(*) FROM outboxMessage WHERE status = 'queued' AND dueAt > ?"),
                leased: try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status = 'leased'") ?? 0,
                oldestDueAt: try Date.fetchOne(
                    db,
                    sql: "SELECT min(dueAt) FROM outboxMessage WHERE status = 'queued' AND dueAt <= ?",
                    arguments: [now]
                )
            )
        }
    }

    private static func entries(_ db: Database, where condition: String, order: String, limit: Int) throws -> [QueueOverview.Entry] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT outboxMessage.*, mailingList.slug AS listSlug, subscriber.address AS address
                FROM outboxMessage
                JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                JOIN subscriber ON subscriber.id = subscription.subscriberId
                JOIN mailingList ON mailingList.id = subscription.listId
                WHERE \(condition)
                ORDER BY \(order)
                LIMIT ?
                """,
            arguments: [limit]
        )
        return try rows.map { row in
            QueueOverview.Entry(message: try OutboxMessage(row: row), listSlug: row["listSlug"], address: row["address"])
        }
    }

    public func outboxDelivery(id: Int64) async throws -> OutboxDelivery? {
        try await writer.read { db in try Self.deliveries(db, ids: [id]).first }
    }
}
