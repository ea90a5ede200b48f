import Foundation
import Hummingbird
import Synchronization

/// Holds back answers whose timing must not tell what a request found.
///
/// Intake and privacy requests answer the same bytes whether the address is
/// new, pending, active or unknown, but the work behind them differs (a new
/// subscription writes five rows and wakes the mailer, a repeat writes one), and
/// a client timing a few hundred requests could tell them apart. Their answers
/// therefore go no sooner than `duration` after the request began: the work
/// fits inside the floor, so every answer takes the floor's time, whatever it
/// found. Work that takes longer (a store under heavy load) is late for every
/// kind of request alike.
struct AnswerFloor: Sendable {
    let duration: Duration

    init(seconds: TimeInterval) {
        duration = .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Returns once `duration` has passed since `start`.
    func wait(since start: ContinuousClock.Instant) async {
        let deadline = start.advanced(by: duration)
        guard ContinuousClock.now < deadline else { return }
        // A cancelled request (the client left) needs no answer on time.
        try? await Task.sleep(until: deadline, clock: .continuous)
    }
}

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
