import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: SharedRateLimits {
    /// One statement: starts the key's window or counts in it, atomically
    /// (`ON CONFLICT` locks the row), so two nodes counting at once both count.
    /// About one call in 512 also deletes windows that ended a day ago.
    public func countRequest(key: String, limit: RateLimiter.Limit, now: Date) async throws -> Int? {
        let opened = now.addingTimeInterval(-limit.window)
        let (start, count) = try await connection { c in
            if Int.random(in: 0..<512) == 0 {
                try await c.run("DELETE FROM rateWindow WHERE windowStart < \(now.addingTimeInterval(-max(limit.window, 86_400)))")
            }
            let rows = try await c.query(
                """
                INSERT INTO rateWindow (keyHash, windowStart, count) VALUES (\(key), \(now), 1)
                ON CONFLICT (keyHash) DO UPDATE SET
                    windowStart = CASE WHEN rateWindow.windowStart <= \(opened) THEN EXCLUDED.windowStart ELSE rateWindow.windowStart END,
                    count = CASE WHEN rateWindow.windowStart <= \(opened) THEN 1 ELSE rateWindow.count + 1 END
                RETURNING windowStart, count
                """, logger: Self.quiet)
            for try await (start, count) in rows.decode((Date, Int).self) { return (start, count) }
            throw StoredValueError(column: "rateWindow", value: "no row")
        }
        guard count > limit.count else { return nil }
        return max(1, Int((limit.window - now.timeIntervalSince(start)).rounded(.up)))
    }
}
