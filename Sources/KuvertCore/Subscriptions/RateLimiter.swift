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
                throw KuvertError.configuration("\(setting) must look like 20/1m (requests per time), not '\(SettingSource.shown(text))'.")
            }
            self.init(count: count, window: try SettingSource.duration(String(parts[1]), name: setting))
        }
    }

    private struct Window {
        var start: Date
        var count: Int
    }

    /// The windows by key, and every window's key and start in the order they
    /// began, so the oldest can be dropped in O(1) (an entry whose key has begun
    /// a newer window since is skipped).
    private struct State {
        var windows: [String: Window] = [:]
        var order: [(key: String, start: Date)] = []
        var head = 0
    }

    /// The number of requests per window it allows.
    public let limit: Limit
    private let state = Mutex(State())
    /// Keys kept at most. Past it the oldest windows are dropped first: a flood
    /// of new keys costs constant time per request and bounded memory (it can
    /// make the limiter forget old keys early, never slow every request down).
    private let capacity: Int

    public init(_ limit: Limit, capacity: Int = 100_000) {
        self.limit = limit
        self.capacity = capacity
    }

    /// How many keys are counted now.
    var trackedKeys: Int { state.withLock { $0.windows.count } }

    /// Counts a request for `key`; nil when allowed, else the seconds to wait.
    public func check(_ key: String, now: Date = Date()) -> Int? {
        state.withLock { state in
            // Drop windows that ended, and the oldest ones while at capacity.
            while state.head < state.order.count {
                let (oldest, start) = state.order[state.head]
                guard state.windows.count >= capacity || now.timeIntervalSince(start) >= limit.window else { break }
                if state.windows[oldest]?.start == start { state.windows[oldest] = nil }
                state.head += 1
            }
            if state.head > 1_024 && state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            var window = state.windows[key] ?? Window(start: now, count: 0)
            if now.timeIntervalSince(window.start) >= limit.window { window = Window(start: now, count: 0) }
            if window.count == 0 { state.order.append((key, now)) }
            window.count += 1
            state.windows[key] = window
            guard window.count > limit.count else { return nil }
            return max(1, Int((limit.window - now.timeIntervalSince(window.start)).rounded(.up)))
        }
    }
}
