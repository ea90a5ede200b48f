import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The mailer worker: leases due outbox rows and sends them over SMTP.
///
/// Each of `connections` sessions runs on a thread of its own with its own
/// transport (so its connection is reused) and claims a batch of messages at a
/// time. A crash loses nothing: a message is either recorded or its lease
/// expires and it is sent again, and since no message can be complete at the
/// server before the one ahead of it is recorded, at most one message per
/// session can go out twice. How a record is made depends on the store (see
/// `DeliveryRecorder`): into a `DeliveryJournal` beside a SQLite store, or
/// committed on a thread of the session's own while the next message's last
/// bytes wait for it. On shutdown a session finishes the message in hand, puts
/// its records in the store, and returns the rest of its claim.
public final class Mailer: Service, Sendable {
    private let store: any DeliveryStore
    private let composer: MessageComposer
    private let settings: MailerSettings
    private let makeTransport: @Sendable () throws -> any MailTransport
    private let logger: Logger
    private let metrics: KuvertMetrics
    private let signal = WakeSignal()
    private let pace: SendPace?
    private let holder: LeaseHolder
    /// The sessions' threads' nice value.
    private let sessionNice: Int32
    /// Lease rounds each session has finished, for tests that must know the
    /// mailer looked (and found nothing it may send) rather than sleep.
    private let rounds: Mutex<[Int]>
    /// The store's journal and the store that takes its batches, when it has one.
    private let journal: (journal: DeliveryJournal, store: any JournaledDeliveryStore)?
    /// When gone holders were last looked for.
    private let lastSweep = Mutex(Date.distantPast)
    /// Whether the relay can be reached, for every session at once.
    private let relay: RelayWatch
    /// Probes that found the relay down in the present outage (0 while it is up).
    var failedRelayProbes: Int { relay.failedProbes }

    /// - Parameters:
    ///   - holder: the name this mailer's leases carry; this process by default.
    ///   - journaled: record through the store's `DeliveryJournal` when it has
    ///     one; false commits each record (for tests of that path).
    ///   - sessionNice: the sessions' threads' nice value: 0 by default (`kuvert
    ///     worker`, whose service sets its own), 19 in `kuvert serve`, where a
    ///     person waiting for a page comes before a mail leaving a moment sooner.
    public init(
        store: any DeliveryStore,
        composer: MessageComposer,
        settings: MailerSettings,
        makeTransport: @escaping @Sendable () throws -> any MailTransport,
        logger: Logger,
        metrics: KuvertMetrics = .none,
        holder: LeaseHolder = .current,
        journaled: Bool = true,
        sessionNice: Int32 = 0
    ) {
        self.holder = holder
        self.sessionNice = sessionNice
        if journaled, case .journaled(let journal, let local) = store.recording {
            self.journal = (journal, local)
        } else {
            self.journal = nil
        }
        self.rounds = Mutex([Int](repeating: 0, count: settings.connections))
        self.store = store
        self.composer = composer
        self.settings = settings
        self.makeTransport = makeTransport
        self.logger = logger
        self.metrics = metrics
        self.pace = settings.sendRate.map(SendPace.init(rate:))
        self.relay = RelayWatch(logger: logger, metrics: metrics)
    }

    /// Runs the sessions until graceful shutdown or cancellation, then waits for
    /// them to finish their message in hand.
    public func run() async throws {
        logger.info("mailer starting", metadata: ["connections": "\(settings.connections)"])
        reclaimLeasesOfGoneHolders()
        await withTaskCancellationOrGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for session in 0..<settings.connections {
                    group.addTask { await self.runOnThread(session: session) }
                }
            }
        } onCancelOrGracefulShutdown: {
            self.signal.stop()
        }
        logger.info("mailer stopped")
    }

    /// Takes back at once the claims of holders on this host that are provably
    /// gone (a process killed mid-batch), instead of waiting for their leases to
    /// run out. Claims of holders elsewhere come back when their leases expire.
    func reclaimLeasesOfGoneHolders() {
        lastSweep.withLock { $0 = Date() }
        // Their journals first: a message on record there was sent, and goes nowhere again.
        if let (journal, store) = journal {
            let (left, unreadable) = journal.leftBehind(seenFrom: holder)
            for path in unreadable {
                logger.error("a delivery journal cannot be read; its messages may go twice", metadata: ["path": "\(path)"])
            }
            for gone in left {
                do {
                    let applied = try store.recordDeliveries(gone.entries, heldBy: gone.holder, bounceLimit: settings.bounceLimit)
                    journal.remove(gone.path)
                    logger.notice(
                        "put the journal of a mailer that is gone on record",
                        metadata: [
                            "holderPid": "\(gone.holder.pid)", "records": "\(gone.entries.count)", "applied": "\(applied)",
                        ]
                    )
                } catch {
                    // Its claims stay too, until the next look: releasing them now would send its messages again.
                    logger.warning("cannot apply the journal of a mailer that is gone", metadata: ["error": "\(error)"])
                    return
                }
            }
        }
        do {
            for claim in try store.leaseHolders() {
                guard let other = LeaseHolder(claim.holder), other != holder, other.isProvablyGone(seenFrom: holder) else { continue }
                let released = try store.releaseLeases(heldBy: claim.holder)
                logger.notice(
                    "took back the claims of a mailer that is gone",
                    metadata: [
                        "holderPid": "\(other.pid)", "messages": "\(released)", "claimed": "\(claim.messages)",
                    ]
                )
            }
        } catch {
            logger.warning("cannot check for abandoned leases; they expire by themselves", metadata: ["error": "\(error)"])
        }
    }

    /// How many lease rounds each session has finished so far. A round that
    /// started after a moment ends at least one round after it: a session whose
    /// count grew by two since then has looked at the outbox as it was then.
    public var finishedRounds: [Int] { rounds.withLock { $0 } }

    /// Wakes idle sessions, as after a message was queued in this process.
    public func wake() {
        signal.wake()
    }

    private func runOnThread(session: Int) async {
        await BlockingWork.run("kuvert-smtp-\(session)", nice: sessionNice) {
            // Below the web's threads, in the store's own work for this thread too.
            if self.sessionNice > 0 { self.store.callingThreadRunsBelowOthers() }
            self.sessionLoop(session: session)
        }
    }

    private func sessionLoop(session: Int) {
        var logger = self.logger
        logger[metadataKey: "session"] = "\(session)"
        let transport: any MailTransport
        do {
            transport = try makeTransport()
        } catch {
            logger.error("cannot start an SMTP session", metadata: ["error": "\(error)"])
            return
        }
        let recorder = makeRecorder(session: session, logger: logger)
        // The last records are in the store before the session ends.
        defer { recorder.finish() }
        while !signal.isStopped {
            // A mailer that died on this host left claims, and maybe a journal.
            if session == 0, Date().timeIntervalSince(lastSweep.withLock { $0 }) >= settings.reclaimInterval {
                reclaimLeasesOfGoneHolders()
            }
            // A relay that cannot be reached is probed, not sent to: no message spends an attempt on it.
            if relay.isDown {
                signal.wait(seconds: relay.wait)
                if signal.isStopped { break }
                if let problem = transport.relayProblem() {
                    relay.failed(reason: problem, held: 0)
                    continue
                }
                relay.answered()
            }
            let batch: [OutboxDelivery]
            do {
                batch = try store.leaseDueMessages(limit: settings.batchSize, leaseFor: settings.leaseDuration, holder: holder, now: Date())
            } catch {
                logger.error("cannot lease messages", metadata: ["error": "\(error)"])
                signal.wait(seconds: settings.idlePoll)
                continue
            }
            // A finished round has its records in the store (tests wait for rounds, then look).
            defer {
                recorder.settle()
                rounds.withLock { $0[session] += 1 }
            }
            if batch.isEmpty {
                signal.wait(seconds: settings.idlePoll)
                continue
            }
            for (index, delivery) in batch.enumerated() {
                if signal.isStopped {
                    let rest = batch[index...].compactMap(\.message.id)
                    do { try store.releaseLeases(rest) } catch {
                        logger.warning("leases not returned; they expire by themselves", metadata: ["error": "\(error)"])
                    }
                    break
                }
                // A claim that ran out may be another session's by now: never send on
                // it, nor start a send in its last quarter, which the send could outlast.
                if let until = delivery.message.leaseExpiresAt, Date() >= until - settings.leaseDuration / 4 {
                    logger.debug("lease ran out before the batch was done; claiming again")
                    break
                }
                guard deliver(delivery, over: transport, recorder: recorder, logger: logger) else {
                    // The relay is down: the rest of the claim goes back at once, not when it expires.
                    let rest = batch[(index + 1)...].compactMap(\.message.id)
                    do { try store.releaseLeases(rest) } catch {
                        logger.warning("leases not returned; they expire by themselves", metadata: ["error": "\(error)"])
                    }
                    relay.hold(rest.count)
                    break
                }
            }
        }
    }

    /// A journal when the store has one; a commit for each record otherwise,
    /// or when the journal's file cannot be made (sending goes on, slower).
    private func makeRecorder(session: Int, logger: Logger) -> any DeliveryRecorder {
        if let (journal, store) = journal {
            do {
                return JournalRecorder(
                    file: try journal.open(holder: holder, session: session),
                    store: store,
                    holder: holder,
                    bounceLimit: settings.bounceLimit,
                    logger: logger
                )
            } catch {
                logger.warning("no delivery journal; each record is committed instead", metadata: ["error": "\(error)"])
            }
        }
        return CommittingRecorder(session: session, store: store, bounceLimit: settings.bounceLimit, logger: logger)
    }

    /// Sends one message and puts the outcome on record; false, with nothing
    /// recorded and the message's claim given back, when the relay itself
    /// cannot be reached (the failure is the relay's, not the message's).
    private func deliver(
        _ delivery: OutboxDelivery,
        over transport: any MailTransport,
        recorder: any DeliveryRecorder,
        logger: Logger
    ) -> Bool {
        guard let id = delivery.message.id else { return true }
        let kind = delivery.message.kind
        // The message's metadata is made only for a line that is written: most
        // messages write none (a copy of the logger with metadata set costs more
        // than the rest of the bookkeeping).
        func log(_ level: Logger.Level, _ message: Logger.Message, _ metadata: Logger.Metadata = [:]) {
            logger.log(level: level, message, metadata: metadata.merging(["message": "\(id)", "kind": "\(kind.rawValue)"]) { $1 })
        }
        let record: DeliveryRecord
        var sendTime: Duration?
        do {
            switch try composer.compose(delivery, now: Date()) {
            case .hold:
                do { try store.releaseLeases([id]) } catch {
                    log(.warning, "lease not returned; it expires by itself", ["error": "\(error)"])
                }
                return true
            case .skip(let reason):
                record = .skipped(reason: reason)
            case .send(let message):
                pace?.waitForTurn()
                let clock = ContinuousClock()
                let start = clock.now
                // The server gets this message's end only once the previous one is on record.
                let outcome = transport.send(
                    from: message.envelopeFrom,
                    to: message.envelopeTo,
                    message: message.bytes,
                    beforeEnd: recorder.beforeEnd
                )
                sendTime = start.duration(to: clock.now)
                if outcome.isRelayUnreachable, let problem = transport.relayProblem() {
                    do { try store.releaseLeases([id]) } catch {
                        log(.warning, "lease not returned; it expires by itself", ["error": "\(error)"])
                    }
                    relay.failed(reason: problem, held: 1)
                    return false
                }
                relay.answered()
                record = decide(outcome, attempts: delivery.message.attempts + 1)
            }
        } catch {
            record = .failed(SendOutcome(kind: .permanent, code: nil, reply: "cannot render: \(error)"))
        }
        recorder.record(DeliveryRecord.Entry(id: id, record: record, at: Date()))
        switch record {
        case .sent(let outcome):
            metrics.delivery(kind: kind, result: .sent, reply: outcome, duration: sendTime)
            log(.debug, "sent")
        case .retry(let outcome, let at):
            metrics.delivery(kind: kind, result: .retried, reply: outcome, duration: sendTime)
            // A relay that cannot be reached, speaks no TLS or refuses the login
            // will refuse every message: the operator must hear of it at once.
            log(
                outcome.isRelayProblem ? .warning : .info,
                "will retry",
                ["reply": "\(LogRedaction.addresses(in: outcome.reply))", "at": "\(at)"]
            )
        case .failed(let outcome):
            // A render failure never reached the server: no SMTP reply to count.
            metrics.delivery(kind: kind, result: .failed, reply: sendTime == nil ? nil : outcome, duration: sendTime)
            log(.warning, "failed", ["reply": "\(LogRedaction.addresses(in: outcome.reply))"])
        case .skipped(let reason):
            metrics.delivery(kind: kind, result: .skipped, reply: nil, duration: nil)
            log(.info, "skipped", ["reason": "\(reason)"])
        }
        return true
    }

    /// Retry transient failures until the attempt limit; anything permanent fails at once.
    func decide(_ outcome: SendOutcome, attempts: Int) -> DeliveryRecord {
        switch outcome.kind {
        case .delivered:
            return .sent(outcome)
        case .permanent:
            return .failed(outcome)
        case .transient where attempts >= settings.retryLimit:
            return .failed(outcome)
        case .transient:
            return .retry(outcome, at: Date().addingTimeInterval(settings.retryDelay(afterAttempt: attempts)))
        }
    }
}
