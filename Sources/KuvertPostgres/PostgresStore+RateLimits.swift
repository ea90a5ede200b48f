import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: SharedRateLimits, RateLimitSharing {
    /// Every node counts in the database.
    public var sharedRateLimits: (any SharedRateLimits)? { self }

    /// Counts in the key's window, or starts it, atomically (`ON CONFLICT` locks
    /// the row), so two nodes counting at once both count. Counts that arrive
    /// together go to the server in one statement (`counts`, a `Coalescer`).
    public func countRequest(key: String, limit: RateLimiter.Limit, now: Date) async throws -> Int? {
        let (start, count): (Date, Int)
        do {
            (start, count) = try await counts.call(RequestCount(key: key, window: limit.window, now: now))
        } catch {
            throw Self.oneLine(error, location: location)
        }
        guard count > limit.count else { return nil }
        return max(1, Int((limit.window - now.timeIntervalSince(start)).rounded(.up)))
    }

    /// One request to count in a key's window.
    struct RequestCount: Sendable {
        var key: String
        var window: TimeInterval
        var now: Date
    }

    /// A batch of counts: one statement per window length (in practice one),
    /// each key once with the number of its requests in the batch; the
    /// requests of a key get the counts they would have had one after the
    /// other. About one batch in 512 also deletes windows that ended a day ago.
    static func count(_ requests: [RequestCount], on pool: BoundedPool) async throws -> [(Date, Int)] {
        let now = requests.map(\.now).max() ?? Date()
        return try await pool.withConnection { c in
            var answers = [(Date, Int)](repeating: (.distantPast, 0), count: requests.count)
            if Int.random(in: 0..<512) == 0 {
                let longest = requests.map(\.window).max() ?? 0
                try await c.run("DELETE FROM rateWindow WHERE windowStart < \(now.addingTimeInterval(-max(longest, 86_400)))")
            }
            for (window, positions) in Dictionary(grouping: requests.indices, by: { requests[$0].window }) {
                var requestsOfKey: [String: Int] = [:]
                for position in positions { requestsOfKey[requests[position].key, default: 0] += 1 }
                // Sorted: two batches lock their keys in the same order, and never wait for each other in a circle.
                let keys = requestsOfKey.keys.sorted()
                let call = CountCall(
                    keys: keys,
                    counts: keys.map { Int32(requestsOfKey[$0]!) },
                    now: now,
                    opened: now.addingTimeInterval(-window)
                )
                var windows: [String: (start: Date, last: Int)] = [:]
                for try await (key, start, count) in try await c.execute(call, logger: quiet) { windows[key] = (start, count) }
                var seen: [String: Int] = [:]
                for position in positions {
                    let key = requests[position].key
                    guard let window = windows[key] else { throw StoredValueError(column: "rateWindow", value: "no row") }
                    seen[key, default: 0] += 1
                    answers[position] = (window.start, window.last - requestsOfKey[key]! + seen[key]!)
                }
            }
            return answers
        }
    }

    /// The counts, prepared once per connection: the server neither parses nor
    /// plans it again (it runs for every POST of every node).
    struct CountCall: PostgresPreparedStatement {
        static let sql = """
            INSERT INTO rateWindow AS w (keyHash, windowStart, count)
            SELECT key, $3, n FROM unnest($1::text[], $2::integer[]) AS request(key, n) ORDER BY key
            ON CONFLICT (keyHash) DO UPDATE SET
                windowStart = CASE WHEN w.windowStart <= $4 THEN EXCLUDED.windowStart ELSE w.windowStart END,
                count = CASE WHEN w.windowStart <= $4 THEN EXCLUDED.count ELSE w.count + EXCLUDED.count END
            RETURNING keyHash, windowStart, count
            """
        static let bindingDataTypes: [PostgresDataType] = [.textArray, .int4Array, .timestamptz, .timestamptz]
        typealias Row = (String, Date, Int)

        let keys: [String]
        let counts: [Int32]
        let now: Date
        let opened: Date

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(keys)
            bindings.append(counts)
            bindings.append(now)
            bindings.append(opened)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }
}
