import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: PrivacyRequestStore {
    public func requestPrivacyLink(_ address: EmailAddress, resendWindow: TimeInterval, now: Date) async throws -> Bool {
        try await writer.write { db in
            // The mail belongs to the person; it rides on their newest subscription,
            // which is how the outbox finds the address.
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT subscriber.id AS subscriberId, max(subscription.id) AS subscriptionId FROM subscriber
                        JOIN subscription ON subscription.subscriberId = subscriber.id
                        WHERE subscriber.addressKey = ? AND subscriber.erasedAt IS NULL GROUP BY subscriber.id
                        """,
                    arguments: [address.key]
                ),
                let subscriberId: Int64 = row["subscriberId"], let subscriptionId: Int64 = row["subscriptionId"]
            else { return false }
            let recent =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM outboxMessage JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                        WHERE subscription.subscriberId = ? AND outboxMessage.kind = 'privacy' AND outboxMessage.createdAt > ?
                        """,
                    arguments: [subscriberId, StoreTime.value(now.addingTimeInterval(-resendWindow))]
                ) ?? 0
            guard recent == 0 else { return false }
            var message = OutboxMessage(kind: .privacy, subscriptionId: subscriptionId, status: .queued, dueAt: now, createdAt: now)
            try message.insert(db)
            var audit = AuditEvent(occurredAt: now, actor: "web", action: "privacy.link-requested", subscriberId: subscriberId)
            try audit.insert(db)
            return true
        }
    }

    public func subscriberAddress(id: Int64) async throws -> EmailAddress? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT address FROM subscriber WHERE id = ? AND erasedAt IS NULL", arguments: [id])
        }.flatMap { try? EmailAddress($0) }
    }
}
