import Foundation
import Hummingbird
import Synchronization

/// Wakes the mailer a little after intake queued mail, not at once: a mailer
/// that starts sending while the answer is still under way (or just after)
/// changes that answer's timing, which would tell a new address from a known
/// one. Requests within one delay share one wake.
final class DelayedWake: Sendable {
    private let wake: @Sendable () -> Void
    private let delay: ClosedRange<Int>
    private let pending = Mutex(false)

    /// - Parameter milliseconds: the range the delay is drawn from, afresh for each wake.
    init(milliseconds: ClosedRange<Int> = 100...300, _ wake: @escaping @Sendable () -> Void) {
        self.wake = wake
        self.delay = milliseconds
    }

    /// Wakes the mailer after a random delay, unless a wake is already due.
    func request() {
        let start = pending.withLock { pending in
            defer { pending = true }
            return !pending
        }
        guard start else { return }
        let delay = Int.random(in: self.delay)
        Task {
            try? await Task.sleep(for: .milliseconds(delay))
            pending.withLock { $0 = false }
            wake()
        }
    }
}
