import Dispatch
import Foundation
import GRDB
import KuvertCore
import Synchronization

/// Writes the work of many concurrent callers in one transaction (group commit).
///
/// With `synchronous = FULL` every commit waits for the disk, so one transaction
/// per request caps the store at the disk's sync rate. Here callers queue their
/// work; one drain at a time takes everything queued so far and runs it in a
/// single transaction, each piece inside a savepoint of its own. A piece that
/// throws rolls back its savepoint only and its caller gets the error; the
/// others commit. Nobody hears back before the commit is on disk, so durability
/// is what it was with a transaction each. An idle store adds no delay: the
/// first caller's work starts at once, and what arrives meanwhile forms the
/// next group. PostgreSQL's store does the same for async callers with its
/// `Coalescer`: this one serves GRDB's synchronous writer and threads that wait.
final class GroupCommit: Sendable {
    /// How a piece of work must survive.
    enum Durability: Sendable {
        /// On disk before the caller hears back, even across a power cut
        /// (`synchronous = FULL`): what a person was told has happened.
        case powerLoss
        /// Safe from a crash of the process, but the last commits may be undone
        /// by a power cut (`synchronous = NORMAL` in WAL mode). For bookkeeping
        /// whose loss only means doing the work again: leases and delivery
        /// records (at-least-once delivery sends such a message again).
        case processCrash
    }

    /// One caller's work, its result filled in inside the transaction and
    /// handed over after the commit.
    private final class Job: @unchecked Sendable {
        let run: (Database) throws -> any Sendable
        let durability: Durability
        let finish: @Sendable (Result<any Sendable, any Error>) -> Void
        var result: Result<any Sendable, any Error>?

        init(
            run: @escaping (Database) throws -> any Sendable,
            durability: Durability,
            finish: @escaping @Sendable (Result<any Sendable, any Error>) -> Void
        ) {
            self.run = run
            self.durability = durability
            self.finish = finish
        }
    }

    private let writer: any DatabaseWriter
    private let maximumGroup: Int
    private let queue = DispatchQueue(label: "kuvert.group-commit")
    private let state = Mutex<(pending: [Job], draining: Bool)>(([], false))

    init(writer: any DatabaseWriter, maximumGroup: Int = 512) {
        self.writer = writer
        self.maximumGroup = maximumGroup
    }

    /// How many pieces wait for the next group (for tests that must hold a group
    /// open until others queued behind it).
    var waiting: Int { state.withLock { $0.pending.count } }

    /// Runs `work` in the next group's transaction and returns its result once committed.
    func write<T: Sendable>(
        _ durability: Durability = .powerLoss,
        _ work: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            enqueue(Job(run: work, durability: durability) { continuation.resume(with: $0) })
        }
        return result as! T  // A job's result is always what its own work returned.
    }

    /// The blocking form, for the mailer's threads. When no group is being
    /// written, the calling thread writes it itself, sparing two thread hops,
    /// unless it runs at a lower priority than the process's other threads
    /// (`deprioritizeCallingThread`): then the queue's thread writes the group.
    func writeAndWait<T: Sendable>(
        _ durability: Durability = .powerLoss,
        _ work: @escaping @Sendable (Database) throws -> T
    ) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<any Sendable, any Error>?>(nil)
        let job = Job(run: work, durability: durability) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        if enqueue(job, drainHere: !Self.callingThreadIsDeprioritized) { drain(handingOn: true) }
        done.wait()
        return try box.withLock { $0! }.get() as! T
    }

    /// Marks the calling thread as one that runs below the process's others (a
    /// mailer's session niced below the web's threads): it never writes a group.
    /// A group holds SQLite's write lock and may carry other callers' work, and
    /// a busy scheduler runs everything else first: web requests queued behind
    /// such a thread once waited 98 ms for it.
    static func deprioritizeCallingThread() {
        Thread.current.threadDictionary[deprioritizedKey] = true
    }

    private static let deprioritizedKey = "kuvert.group-commit.deprioritized"

    private static var callingThreadIsDeprioritized: Bool {
        Thread.current.threadDictionary[deprioritizedKey] != nil
    }

    /// Queues a job; true when the caller asked to drain and must now do so.
    @discardableResult
    private func enqueue(_ job: Job, drainHere: Bool = false) -> Bool {
        let startDrain = state.withLock { state in
            state.pending.append(job)
            defer { state.draining = true }
            return !state.draining
        }
        guard startDrain else { return false }
        if drainHere { return true }
        queue.async { self.drain() }
        return false
    }

    /// Commits groups until nothing is queued.
    /// - Parameter handingOn: after the first group, leave the rest to the
    ///   queue's thread. A blocking caller writes its own group and no more:
    ///   the mailer's threads run at a low priority, and one of them must not
    ///   end up writing every request's work while the web is busy.
    private func drain(handingOn: Bool = false) {
        while true {
            let group: [Job] = state.withLock { state in
                let group = Array(state.pending.prefix(maximumGroup))
                state.pending.removeFirst(group.count)
                if group.isEmpty { state.draining = false }
                return group
            }
            if group.isEmpty { return }
            commit(group)
            if handingOn {
                let more = state.withLock { state in
                    if state.pending.isEmpty { state.draining = false }
                    return !state.pending.isEmpty
                }
                if more { queue.async { self.drain() } }
                return
            }
        }
    }

    /// One transaction for the group, synced to disk when any piece needs it.
    /// Its control statements are prepared once per connection: parsing them
    /// again for every group cost more than a small piece's own work.
    private func commit(_ group: [Job]) {
        let relaxed = group.allSatisfy { $0.durability == .processCrash }
        do {
            try writer.writeWithoutTransaction { db in
                if relaxed { try db.cachedStatement(sql: "PRAGMA synchronous = NORMAL").execute() }
                defer { if relaxed { try? db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute() } }
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                do {
                    try runPieces(group, db)
                    // A group of one that failed was rolled back already.
                    if db.isInsideTransaction { try db.cachedStatement(sql: "COMMIT TRANSACTION").execute() }
                } catch {
                    if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
                    throw error
                }
            }
            for job in group { job.finish(job.result!) }
        } catch {
            // The transaction itself failed (disk full, I/O error): nothing of the group was kept.
            for job in group { job.finish(.failure(error)) }
        }
    }

    /// Each piece in a savepoint of its own, so that a piece that throws is
    /// undone alone. A group of one needs none: its failure undoes the
    /// transaction, which holds nothing else.
    private func runPieces(_ group: [Job], _ db: Database) throws {
        if group.count == 1, let job = group.first {
            do {
                job.result = .success(try job.run(db))
            } catch {
                job.result = .failure(error)
                // SQLite may have rolled back already (a full disk does).
                if db.isInsideTransaction { try db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            }
            return
        }
        let savepoint = try db.cachedStatement(sql: "SAVEPOINT piece")
        let release = try db.cachedStatement(sql: "RELEASE SAVEPOINT piece")
        let undo = try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT piece")
        for job in group {
            try savepoint.execute()
            do {
                job.result = .success(try job.run(db))
            } catch {
                job.result = .failure(error)
                try undo.execute()
            }
            try release.execute()
        }
    }
}
