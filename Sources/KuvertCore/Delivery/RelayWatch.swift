import Foundation
import Logging
import Synchronization

/// Whether the relay can be reached, as one state shared by a mailer's sessions.
///
/// A relay that refuses connections, times out or fails TLS would fail
/// every message alike: that is one state of the relay, not a
/// failure of each message. While it lasts, messages spend no attempts (their
/// claims are returned as they were), sessions wait and probe the relay
/// (`MailTransport.relayProblem`) at growing intervals, and the log says so
/// once when it starts and once when it ends, not once per message.
final class RelayWatch: Sendable {
    private struct State {
        var since: Date?
        var reason = ""
        var held = 0
        var probes = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let metrics: KuvertMetrics
    /// The first wait between probes; it doubles up to `maximumWait`.
    let firstWait: TimeInterval
    let maximumWait: TimeInterval

    init(logger: Logger, metrics: KuvertMetrics, firstWait: TimeInterval = 1, maximumWait: TimeInterval = 30) {
        self.logger = logger
        self.metrics = metrics
        self.firstWait = firstWait
        self.maximumWait = maximumWait
        metrics.relay(up: true)
    }

    /// Probes that found the relay down in this outage (tests wait for them).
    var failedProbes: Int { state.withLock { $0.probes } }

    /// True while the relay is known to be unreachable.
    var isDown: Bool { state.withLock { $0.since != nil } }

    /// How long a session waits before it probes again.
    var wait: TimeInterval {
        state.withLock { state in min(maximumWait, firstWait * pow(2, Double(min(state.probes, 16)))) }
    }

    /// The relay could not be reached; `held` messages were given back unsent.
    func failed(reason: String, held: Int, now: Date = Date()) {
        let started = state.withLock { state -> Bool in
            state.held += held
            state.probes += 1
            guard state.since == nil else { return false }
            state.since = now
            state.reason = reason
            return true
        }
        guard started else { return }
        metrics.relay(up: false)
        logger.warning(
            "relay unreachable: sending paused, no message spends an attempt; probing it",
            metadata: ["reason": "\(LogRedaction.addresses(in: reason))"]
        )
    }

    /// `count` more messages given back unsent while the relay is down.
    func hold(_ count: Int) {
        state.withLock { $0.held += count }
    }

    /// The relay answered.
    func answered(now: Date = Date()) {
        let outage = state.withLock { state -> (since: Date, held: Int)? in
            guard let since = state.since else { return nil }
            defer { state = State() }
            return (since, state.held)
        }
        guard let outage else { return }
        metrics.relay(up: true)
        logger.notice(
            "relay reachable again: sending resumes",
            metadata: ["unreachableFor": "\(Int(now.timeIntervalSince(outage.since).rounded()))s", "messagesHeld": "\(outage.held)"]
        )
    }
}
