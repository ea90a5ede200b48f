import Foundation
import GRDB

/// What retention needs from the store.
public protocol RetentionStore: Sendable {
    /// Pending subscriptions requested before `before` and never confirmed.
    func expiredPendingCount(before: Date) async throws -> Int
    /// Deletes pending subscriptions requested before `before`, with their
    /// ledger and mail, and their subscriber when nothing else is left of them;
    /// then checkpoints the WAL. Returns how many subscriptions went.
    func deleteExpiredPending(before: Date, now: Date) async throws -> Int
    /// People whose every subscription ended (unsubscribed or bounced) before
    /// `endedBefore`, not yet erased: their row ids and stored address keys,
    /// as stored (never re-parsed, so no stored address escapes retention).
    func subscribersToErase(endedBefore: Date) async throws -> [(id: Int64, addressKey: String)]
}

extension AppDatabase: RetentionStore {
    public func expiredPendingCount(before: Date) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM subscription WHERE status = 'pending' AND requestedAt < ?",
                arguments: [StoreTime.value(before)]) ?? 0
        }
    }

    public func deleteExpiredPending(before: Date, now: Date) async throws -> Int {
        let deleted = try await writer.write { db -> Int in
            try db.execute(sql: "DELETE FROM subscription WHERE status = 'pending' AND requestedAt < ?", arguments: [StoreTime.value(before)])
            let count = db.changesCount
            // A subscriber with no subscription left is only an address: it goes too.
            try db.execute(sql: """
                DELETE FROM subscriber WHERE erasedAt IS NULL
                AND NOT EXISTS (SELECT 1 FROM subscription WHERE subscriberId = subscriber.id)
                """)
            if count > 0 {
                var audit = AuditEvent(
                    occurredAt: now, actor: "retention", action: "retention.expired-pending", detail: "\(count) subscriptions")
                try audit.insert(db)
            }
            return count
        }
        if deleted > 0 {
            try await writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        return deleted
    }

    public func subscribersToErase(endedBefore: Date) async throws -> [(id: Int64, addressKey: String)] {
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
            ).map { (id: $0["id"], addressKey: $0["addressKey"]) }
        }
    }
}
