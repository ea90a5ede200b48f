import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: RetentionStore {
    public func expiredPendingCount(before: Date) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(*) FROM subscription WHERE status = 'pending' AND requestedAt < ?",
                arguments: [StoreTime.value(before)]
            ) ?? 0
        }
    }

    public func deleteExpiredPending(before: Date, now: Date) async throws -> Int {
        let deleted = try await writer.write { db -> Int in
            // A new address nobody confirmed within the window is forgotten too.
            try db.execute(
                sql: """
                    UPDATE subscriber SET newAddress = NULL, newAddressKey = NULL, newAddressNonce = NULL, newAddressRequestedAt = NULL
                    WHERE newAddressRequestedAt < ?
                    """,
                arguments: [StoreTime.value(before)]
            )
            try db.execute(sql: "DELETE FROM subscription WHERE status = 'pending' AND requestedAt < ?", arguments: [StoreTime.value(before)])
            let count = db.changesCount
            // A subscriber with no subscription left is only an address: it goes too.
            try db.execute(
                sql: """
                    DELETE FROM subscriber WHERE erasedAt IS NULL
                    AND NOT EXISTS (SELECT 1 FROM subscription WHERE subscriberId = subscriber.id)
                    """
            )
            if count > 0 {
                var audit = AuditEvent(
                    occurredAt: now,
                    actor: "retention",
                    action: "retention.expired-pending",
                    detail: "\(count) subscriptions"
                )
                try audit.insert(db)
            }
            return count
        }
        if deleted > 0 {
            try await writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        return deleted
    }

    public func oldMessageCount(before: Date) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(*) FROM outboxMessage WHERE \(Self.finishedCondition) AND coalesce(sentAt, dueAt) < ?",
                arguments: [StoreTime.value(before)]
            ) ?? 0
        }
    }

    public func deleteOldMessages(before: Date, now: Date, batch: Int) async throws -> Int {
        var deleted = 0
        while true {
            let count = try await writer.write { db -> Int in
                let cutoff = StoreTime.value(before)
                try db.execute(
                    sql: """
                        CREATE TEMP TABLE IF NOT EXISTS purgedMessage (id INTEGER PRIMARY KEY, campaignId INTEGER, kind TEXT, status TEXT);
                        DELETE FROM temp.purgedMessage;
                        INSERT INTO temp.purgedMessage
                        SELECT id, campaignId, kind, status FROM outboxMessage
                        WHERE \(Self.finishedCondition) AND coalesce(sentAt, dueAt) < ? LIMIT ?;
                        UPDATE campaign SET
                          purgedSent = purgedSent + (SELECT count(*) FROM temp.purgedMessage p
                                                     WHERE p.campaignId = campaign.id AND p.kind = 'newsletter' AND p.status = 'sent'),
                          purgedFailed = purgedFailed + (SELECT count(*) FROM temp.purgedMessage p
                                                         WHERE p.campaignId = campaign.id AND p.kind = 'newsletter' AND p.status = 'failed'),
                          purgedSkipped = purgedSkipped + (SELECT count(*) FROM temp.purgedMessage p
                                                           WHERE p.campaignId = campaign.id AND p.kind = 'newsletter' AND p.status = 'skipped')
                        WHERE id IN (SELECT campaignId FROM temp.purgedMessage);
                        DELETE FROM outboxMessage WHERE id IN (SELECT id FROM temp.purgedMessage);
                        """,
                    arguments: [cutoff, batch]
                )
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.purgedMessage") ?? 0
                try db.execute(sql: "DELETE FROM auditEvent WHERE action = 'message.sent' AND occurredAt < ?", arguments: [cutoff])
                try db.execute(sql: "DELETE FROM bounceEvent WHERE receivedAt < ?", arguments: [cutoff])
                if count > 0 {
                    var audit = AuditEvent(
                        occurredAt: now,
                        actor: "retention",
                        action: "retention.messages",
                        detail: "\(count) message records"
                    )
                    try audit.insert(db)
                }
                return count
            }
            deleted += count
            if count < batch { return deleted }
        }
    }

    public func subscribersToErase(endedBefore: Date) async throws -> [ErasureCandidate] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, addressKey FROM subscriber
                    WHERE erasedAt IS NULL
                      AND EXISTS (SELECT 1 FROM subscription WHERE subscriberId = subscriber.id)
                      AND NOT EXISTS (
                        SELECT 1 FROM subscription WHERE subscriberId = subscriber.id
                        AND (status IN ('pending', 'active') OR endedAt IS NULL OR endedAt >= ?))
                    """,
                arguments: [StoreTime.value(endedBefore)]
            ).map { ErasureCandidate(id: $0["id"], addressKey: $0["addressKey"]) }
        }
    }
}
