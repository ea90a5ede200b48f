import Foundation
import Synchronization

/// Counts requests per key in fixed windows, in memory, for one process.
///
/// Used with client addresses and with target addresses. A limit answers the
/// same for every key, known or not, so it reveals nothing about the store.
public final class RateLimiter: Sendable {
    /// A number of requests per window, written `N/DURATION` as in `20/1m`.
    public struct Limit: Sendable, Equatable {
        public var count: Int
        public var window: TimeInterval

        public init(count: Int, window: TimeInterval) {
            self.count = count
            self.window = window
        }

        /// Parses `N/DURATION`, such as `20/1m` or `5/1h`.
        /// - Throws: `KuvertError.configuration` naming `setting`.
        public init(parsing text: String, setting: String) throws {
            let parts = text.split(separator: "/")
            guard parts.count == 2, let count = Int(parts[0]), count > 0 else {
                throw KuvertError.configuration("\(setting) must look like 20/1m (requests per time), not '\(text)'.")
            }
            self.init(count: count, window: try Configuration.parseDuration(String(parts[1]), name: setting))
        }
    }

    private struct Window { var start: Date; var count: Int }

    private let limit: Limit
    private let windows = Mutex<[String: Window]>([:])
    /// Keys kept at most; past it, finished windows are dropped.
    private let capacity = 100_000

    public init(_ limit: Limit) {
        self.limit = limit
    }

    /// Counts a request for `key`; nil when allowed, else the seconds to wait.
    public func check(_ key: String, now: Date = Date()) -> Int? {
        windows.withLock { windows in
            if windows.count >= capacity {
                windows = windows.filter { now.timeIntervalSince($0.value.start) < limit.window }
            }
            var window = windows[key] ?? Window(start: now, count: 0)
            if now.timeIntervalSince(window.start) >= limit.window { window = Window(start: now, count: 0) }
            window.count += 1
            windows[key] = window
            guard window.count > limit.count else { return nil }
            return max(1, Int((limit.window - now.timeIntervalSince(window.start)).rounded(.up)))
        }
    }
}
