import Dispatch
import GRDB
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
/// next group.
final class GroupCommit: Sendable {
    /// One caller's work, its result filled in inside the transaction and
    /// handed over after the commit.
    private final class Job: @unchecked Sendable {
        let run: (Database) throws -> any Sendable
        let finish: @Sendable (Result<any Sendable, any Error>) -> Void
        var result: Result<any Sendable, any Error>?

        init(run: @escaping (Database) throws -> any Sendable, finish: @escaping @Sendable (Result<any Sendable, any Error>) -> Void) {
            self.run = run
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

    /// Runs `work` in the next group's transaction and returns its result once committed.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            enqueue(Job(run: work) { continuation.resume(with: $0) })
        }
        return result as! T  // swiftlint:disable:this force_cast — a job's result is always its own work's.
    }

    /// The blocking form, for the mailer's threads.
    func writeAndWait<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<any Sendable, any Error>?>(nil)
        enqueue(Job(run: work) { result in
            box.withLock { $0 = result }
            done.signal()
        })
        done.wait()
        return try box.withLock { $0! }.get() as! T
    }

    private func enqueue(_ job: Job) {
        let startDrain = state.withLock { state in
            state.pending.append(job)
            defer { state.draining = true }
            return !state.draining
        }
        if startDrain { queue.async { self.drain() } }
    }

    /// Commits groups until nothing is queued.
    private func drain() {
        while true {
            let group: [Job] = state.withLock { state in
                let group = Array(state.pending.prefix(maximumGroup))
                state.pending.removeFirst(group.count)
                if group.isEmpty { state.draining = false }
                return group
            }
            if group.isEmpty { return }
            commit(group)
        }
    }

    private func commit(_ group: [Job]) {
        do {
            try writer.write { db in
                for job in group {
                    try db.inSavepoint {
                        do {
                            job.result = .success(try job.run(db))
                            return .commit
                        } catch {
                            job.result = .failure(error)
                            return .rollback
                        }
                    }
                }
            }
            for job in group { job.finish(job.result!) }
        } catch {
            // The transaction itself failed (disk full, I/O error): nothing of the group was kept.
            for job in group { job.finish(.failure(error)) }
        }
    }
}
