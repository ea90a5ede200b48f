import Foundation
import KuvertCore
import PostgresNIO

// Every node runs the retention job. Each deleting transaction first takes a
// transaction-level advisory lock, so nodes delete one after the other, and
// counts what it deleted from `DELETE … RETURNING`, so two nodes can never
// both count (or add to a campaign's totals) the same row.
extension PostgresStore: RetentionStore {
    /// The advisory lock of the retention job's transactions.
    static let retentionLock: Int64 = 0x6B75_7665_7272  // "kuverr"

    public func expiredPendingCount(before: Date) async throws -> Int {
        try await connection(unbounded: true) { c in
            try await c.value(
                "SELECT count(*) FROM subscription WHERE status = 'pending' AND requestedAt < \(before)",
                as: Int.self
            ) ?? 0
        }
    }

    public func deleteExpiredPending(before: Date, now: Date) async throws -> Int {
        try await transaction(unbounded: true) { c in
            try await c.run("SELECT pg_advisory_xact_lock(\(Self.retentionLock))")
            // A new address nobody confirmed within the window is forgotten too.
            try await c.run(
                """
                UPDATE subscriber SET newAddress = NULL, newAddressKey = NULL, newAddressNonce = NULL, newAddressRequestedAt = NULL
                WHERE newAddressRequestedAt < \(before)
                """
            )
            let owners = try await c.column(
                "DELETE FROM subscription WHERE status = 'pending' AND requestedAt < \(before) RETURNING subscriberId",
                as: Int64.self
            )
            let count = owners.count
            // A subscriber with no subscription left is only an address: it goes too.
            try await c.run(
                """
                DELETE FROM subscriber p WHERE p.id = ANY(\(Array(Set(owners)))) AND p.erasedAt IS NULL
                  AND NOT EXISTS (SELECT 1 FROM subscription WHERE subscriberId = p.id)
                """
            )
            if count > 0 {
                try await c.run(
                    """
                    INSERT INTO auditEvent (occurredAt, actor, action, detail)
                    VALUES (\(now), 'retention', 'retention.expired-pending', \("\(count) subscriptions"))
                    """
                )
            }
            return count
        }
    }

    public func oldMessageCount(before: Date) async throws -> Int {
        try await connection(unbounded: true) { c in
            try await c.value(
                """
                SELECT count(*) FROM outboxMessage
                WHERE status IN ('sent', 'failed', 'skipped') AND coalesce(sentAt, dueAt) < \(before)
                """,
                as: Int.self
            ) ?? 0
        }
    }

    public func deleteOldMessages(before: Date, now: Date, batch: Int) async throws -> Int {
        var deleted = 0
        while true {
            let count = try await transaction(unbounded: true) { c in
                try await c.run("SELECT pg_advisory_xact_lock(\(Self.retentionLock))")
                let count =
                    try await c.value(
                        """
                        WITH gone AS (
                            DELETE FROM outboxMessage WHERE id IN (
                                SELECT id FROM outboxMessage
                                WHERE status IN ('sent', 'failed', 'skipped') AND coalesce(sentAt, dueAt) < \(before)
                                LIMIT \(batch) FOR UPDATE SKIP LOCKED)
                            RETURNING campaignId, kind, status
                        ), totals AS (
                            UPDATE campaign SET
                                purgedSent = purgedSent + t.sent, purgedFailed = purgedFailed + t.failed,
                                purgedSkipped = purgedSkipped + t.skipped
                            FROM (SELECT campaignId,
                                         count(*) FILTER (WHERE status = 'sent') AS sent,
                                         count(*) FILTER (WHERE status = 'failed') AS failed,
                                         count(*) FILTER (WHERE status = 'skipped') AS skipped
                                  FROM gone WHERE kind = 'newsletter' AND campaignId IS NOT NULL GROUP BY campaignId) t
                            WHERE campaign.id = t.campaignId
                        )
                        SELECT count(*) FROM gone
                        """,
                        as: Int.self
                    ) ?? 0
                try await c.run("DELETE FROM auditEvent WHERE action = 'message.sent' AND occurredAt < \(before)")
                try await c.run("DELETE FROM bounceEvent WHERE receivedAt < \(before)")
                if count > 0 {
                    try await c.run(
                        """
                        INSERT INTO auditEvent (occurredAt, actor, action, detail)
                        VALUES (\(now), 'retention', 'retention.messages', \("\(count) message records"))
                        """
                    )
                }
                return count
            }
            deleted += count
            if count < batch { return deleted }
        }
    }

    public func subscribersToErase(endedBefore: Date) async throws -> [ErasureCandidate] {
        try await connection(unbounded: true) { c in
            try await c.query(
                """
                SELECT id, addressKey FROM subscriber p
                WHERE erasedAt IS NULL
                  AND EXISTS (SELECT 1 FROM subscription WHERE subscriberId = p.id)
                  AND NOT EXISTS (
                    SELECT 1 FROM subscription WHERE subscriberId = p.id
                    AND (status IN ('pending', 'active') OR endedAt IS NULL OR endedAt >= \(endedBefore)))
                """,
                logger: Self.quiet
            ).decode((Int64, String).self).reduce(into: [ErasureCandidate]()) { $0.append(ErasureCandidate(id: $1.0, addressKey: $1.1)) }
        }
    }

}
