import Foundation
import GRDB

extension AppDatabase: OutboxStore {
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
                      count(*) FILTER (WHERE status = 'failed') AS failed
                    FROM outboxMessage
                    """,
                arguments: ["now": now]).orThrow()
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT outboxMessage.*, mailingList.slug AS listSlug, subscriber.address AS address
                    FROM outboxMessage
                    JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                    JOIN subscriber ON subscriber.id = subscription.subscriberId
                    JOIN mailingList ON mailingList.id = subscription.listId
                    WHERE outboxMessage.status IN ('queued', 'leased')
                    ORDER BY outboxMessage.dueAt, outboxMessage.id
                    LIMIT ?
                    """,
                arguments: [limit])
            let waiting = try rows.map { row in
                QueueOverview.Entry(message: try OutboxMessage(row: row), listSlug: row["listSlug"], address: row["address"])
            }
            return QueueOverview(
                due: counts["due"], scheduled: counts["scheduled"], leased: counts["leased"],
                retrying: counts["retrying"], sent: counts["sent"], failed: counts["failed"], waiting: waiting)
        }
    }

    public func outboxDelivery(id: Int64) async throws -> OutboxDelivery? {
        try await writer.read { db in
            guard let message = try OutboxMessage.fetchOne(db, key: id), let subscriptionId = message.subscriptionId,
                  let context = try Self.confirmationContext(db, subscriptionId: subscriptionId)
            else { return nil }
            let address = try String.fetchOne(
                db, sql: "SELECT address FROM subscriber WHERE id = ?", arguments: [context.subscription.subscriberId])
            return OutboxDelivery(message: message, address: try address.orThrow(), context: context)
        }
    }
}
