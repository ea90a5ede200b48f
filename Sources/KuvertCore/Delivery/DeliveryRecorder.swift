import Foundation
import Logging

/// How one session puts its deliveries on record, so that no message of it
/// is complete at the server before the one ahead of it is on record.
/// Used by the session's thread only.
protocol DeliveryRecorder: AnyObject {
    /// Puts a message's record on record; called before the next message is sent.
    func record(_ entry: DeliveryRecord.Entry)
    /// Called just before the next message's last bytes go to the server.
    func beforeEnd()
    /// Brings the store up to date with every record so far (at the end of a batch).
    func settle()
    /// The session ends.
    func finish()
}

/// Appends each record to the session's `DeliveryJournal` file at once and
/// writes a batch's records to the store in one transaction.
final class JournalRecorder: DeliveryRecorder {
    private let file: DeliveryJournal.File
    private let store: any JournaledDeliveryStore
    private let holder: LeaseHolder
    private let bounceLimit: Int
    private let logger: Logger
    private var pending: [DeliveryRecord.Entry] = []
    /// When the oldest record not yet in the store was made.
    private var pendingSince: ContinuousClock.Instant?
    /// Records wait for the batch's end, or this long at most: at a slow send
    /// rate a batch takes many seconds, and `campaign status` reads the store.
    static let longestWait: Duration = .seconds(1)

    init(file: DeliveryJournal.File, store: any JournaledDeliveryStore, holder: LeaseHolder, bounceLimit: Int, logger: Logger) {
        self.file = file
        self.store = store
        self.holder = holder
        self.bounceLimit = bounceLimit
        self.logger = logger
    }

    func record(_ entry: DeliveryRecord.Entry) {
        do {
            try file.append(entry)
            pending.append(entry)
            let now = ContinuousClock.now
            if let since = pendingSince, now - since >= Self.longestWait {
                settle()
            } else if pendingSince == nil {
                pendingSince = now
            }
        } catch {
            // No journal (a full disk): the store's own record keeps the window.
            logger.warning("cannot write the delivery journal; recording in the store", metadata: ["error": "\(error)"])
            pending.append(entry)
            settle()
        }
    }

    func beforeEnd() {}

    func settle() {
        guard !pending.isEmpty else { return }
        do {
            _ = try store.recordDeliveries(pending, heldBy: holder, bounceLimit: bounceLimit)
            pending.removeAll(keepingCapacity: true)
            pendingSince = nil
            try file.reset()
        } catch {
            // Kept in the journal and here: tried again after the next batch, or
            // applied by the next mailer on this store.
            logger.error("cannot record deliveries", metadata: ["error": "\(error)"])
        }
    }

    func finish() {
        settle()
        // Records not in the store stay in the file for the next mailer.
        if pending.isEmpty { file.remove() }
    }
}

/// Commits each record, in order, while the session sends the next message,
/// whose last bytes wait for that commit: in a task for a store whose records
/// are async calls, else on a thread of the session's own. For stores without
/// a journal (PostgreSQL: another node may take a claim over).
final class CommittingRecorder: DeliveryRecorder {
    private let queue: DispatchQueue
    private let store: any DeliveryStore
    /// Set when the store's records are awaited as tasks.
    private let asyncStore: (any AsyncRecordingDeliveryStore)?
    private let bounceLimit: Int
    private let logger: Logger
    private var last: DispatchGroup?

    init(session: Int, store: any DeliveryStore, bounceLimit: Int, logger: Logger) {
        queue = DispatchQueue(label: "kuvert-record-\(session)")
        self.store = store
        if case .committedAsync(let asyncStore) = store.recording { self.asyncStore = asyncStore } else { self.asyncStore = nil }
        self.bounceLimit = bounceLimit
        self.logger = logger
    }

    func record(_ entry: DeliveryRecord.Entry) {
        let group = DispatchGroup()
        group.enter()
        let (store, bounceLimit, logger) = (store, bounceLimit, logger)
        // The lease runs out and the message goes again: at-least-once.
        let failed = { @Sendable (error: any Error) in logger.error("cannot record a delivery", metadata: ["error": "\(error)"]) }
        if let store = asyncStore {
            // One record at a time per session, in order, as on the queue: the
            // next message's end waits for this one anyway, and a message that
            // was never sent (skipped) waits here.
            last?.wait()
            Task {
                do { try await store.recordDeliveryAsync(entry.id, entry.record, bounceLimit: bounceLimit, now: entry.at) } catch {
                    failed(error)
                }
                group.leave()
            }
        } else {
            queue.async {
                do { try store.recordDelivery(entry.id, entry.record, bounceLimit: bounceLimit, now: entry.at) } catch {
                    failed(error)
                }
                group.leave()
            }
        }
        last = group
    }

    func beforeEnd() { last?.wait() }

    func settle() { last?.wait() }

    func finish() { last?.wait() }
}
