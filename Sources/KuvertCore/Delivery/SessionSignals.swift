import Foundation
import Synchronization

/// Lets idle sessions sleep until there is work or a stop.
final class WakeSignal: Sendable {
    private let state = Mutex<(stopped: Bool, generation: Int)>((false, 0))
    private let condition = NSCondition()

    var isStopped: Bool { state.withLock { $0.stopped } }

    func stop() {
        state.withLock { $0.stopped = true }
        broadcast()
    }

    func wake() {
        state.withLock { $0.generation += 1 }
        broadcast()
    }

    /// Sleeps until woken, stopped, or `seconds` pass.
    func wait(seconds: TimeInterval) {
        let seen = state.withLock { $0.generation }
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while state.withLock({ !$0.stopped && $0.generation == seen }) {
            if !condition.wait(until: deadline) { return }
        }
    }

    private func broadcast() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}

/// The sender-wide rate limit: hands out send times spaced `1 / rate` apart.
final class SendPace: Sendable {
    private let interval: TimeInterval
    private let next = Mutex<Date>(.distantPast)

    init(rate: Double) {
        interval = 1 / rate
    }

    /// Blocks the calling thread until its turn.
    func waitForTurn() {
        let now = Date()
        let slot = next.withLock { next -> Date in
            let slot = max(now, next)
            next = slot.addingTimeInterval(interval)
            return slot
        }
        let wait = slot.timeIntervalSince(now)
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
    }
}
