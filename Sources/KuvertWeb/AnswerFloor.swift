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
