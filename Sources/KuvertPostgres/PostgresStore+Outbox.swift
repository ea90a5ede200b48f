import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: OutboxStore, StoreHealth {
    public func retryFailed(id: Int64?, actor: String, now: Date) async throws -> [Int64] {
        try await transaction { c in
            let ids = try await c.column(
                """
                UPDATE outboxMessage SET status = 'queued', dueAt = \(now), attempts = 0, leaseExpiresAt = NULL, leaseHolder = NULL
                WHERE status = 'failed' AND (\(id)::bigint IS NULL OR id = \(id))
                RETURNING id
                """,
                as: Int64.self
            ).sorted()
            if !ids.isEmpty {
                try await c.run(
                    """
                    INSERT INTO auditEvent (occurredAt, actor, action, detail)
                    VALUES (\(now), \(actor), 'queue.retry', \(ids.count == 1 ? "message #\(ids[0])" : "\(ids.count) failed messages"))
                    """
                )
            }
            return ids
        }
    }

    public func queueOverview(now: Date, limit: Int) async throws -> QueueOverview {
        try await connection { c in
            let counts = try await c.rows(
                """
                SELECT
                  count(*) FILTER (WHERE status = 'queued' AND dueAt <= \(now)) AS due,
                  count(*) FILTER (WHERE status = 'queued' AND dueAt > \(now) AND attempts = 0) AS scheduled,
                  count(*) FILTER (WHERE status = 'queued' AND dueAt > \(now) AND attempts > 0) AS retrying,
                  count(*) FILTER (WHERE status = 'leased') AS leased,
                  count(*) FILTER (WHERE status = 'sent') AS sent,
                  count(*) FILTER (WHERE status = 'failed') AS failed,
                  count(*) FILTER (WHERE status = 'skipped') AS skipped
                FROM outboxMessage
                """
            ).first.orThrow()
            let count = { (name: String) in try counts[name].decode(Int.self) }
            return QueueOverview(
                due: try count("due"),
                scheduled: try count("scheduled"),
                leased: try count("leased"),
                retrying: try count("retrying"),
                sent: try count("sent"),
                failed: try count("failed"),
                skipped: try count("skipped"),
                waiting: try await Self.entries(c, where: "m.status IN ('queued', 'leased')", order: "m.dueAt, m.id", limit: limit),
                recentFailures: try await Self.entries(c, where: "m.status = 'failed'", order: "m.id DESC", limit: limit)
            )
        }
    }

    public func outboxDepth(now: Date) async throws -> OutboxDepth {
        try await connection { c in
            let row = try await c.rows(
                """
                SELECT count(*) FILTER (WHERE status = 'queued' AND dueAt <= \(now)) AS due,
                       count(*) FILTER (WHERE status = 'queued' AND dueAt > \(now)) AS scheduled,
                       count(*) FILTER (WHERE status = 'leased') AS leased,
                       min(dueAt) FILTER (WHERE status = 'queued' AND dueAt <= \(now)) AS oldest
                FROM outboxMessage WHERE status IN ('queued', 'leased')
                """
            ).first.orThrow()
            return OutboxDepth(
                due: try row["due"].decode(Int.self),
                scheduled: try row["scheduled"].decode(Int.self),
                leased: try row["leased"].decode(Int.self),
                oldestDueAt: try row["oldest"].decode(Date?.self)
            )
        }
    }

    public func outboxDelivery(id: Int64) async throws -> OutboxDelivery? {
        try await connection { c in
            // An integer id is safe to write into the statement.
            let rows = try await c.rows("\(unescaped: Self.deliverySelect("(SELECT * FROM outboxMessage WHERE id = \(id))"))")
            return try await Self.deliveries(c, rows).first
        }
    }

    /// Within `patience`: a server that went away answers false, not never.
    public func isHealthy() async -> Bool {
        (try? await reachable { [self] in try await connection { c in try await c.value("SELECT 1", as: Int.self) } }) == 1
    }

    /// True when the server takes writes: it answers and is no standby in recovery.
    /// The wait for a connection is bounded by `connection` (`BoundedPool`): no second timer here.
    public func canWrite() async -> Bool {
        (try? await connection { c in
            try await c.value("SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'", as: Bool.self)
        }) == true
    }

    /// Errors this store throws as `StoreUnavailable` (see `oneLine`), and
    /// postgres-nio's own when one slips past it.
    public func unavailability(of error: any Error) -> StoreUnavailable? {
        switch Self.oneLine(error, location: location) {
        case let unavailable as StoreUnavailable: unavailable
        default: nil
        }
    }

    private static func entries(_ c: PostgresConnection, where condition: String, order: String, limit: Int) async throws -> [QueueOverview.Entry] {
        try await c.rows(
            """
            SELECT \(unescaped: OutboxMessage.select("m")), l.slug, p.address
            FROM outboxMessage m JOIN subscription s ON s.id = m.subscriptionId
            JOIN subscriber p ON p.id = s.subscriberId JOIN mailingList l ON l.id = s.listId
            WHERE \(unescaped: condition) ORDER BY \(unescaped: order) LIMIT \(limit)
            """
        ).map { row in
            QueueOverview.Entry(
                message: try OutboxMessage(row, "m"),
                listSlug: try row["slug"].decode(String.self),
                address: try row["address"].decode(String.self)
            )
        }
    }
}
