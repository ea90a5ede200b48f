import KuvertCore
import PostgresNIO
import Synchronization

/// postgres-nio's pool with a bound on the wait for a connection.
///
/// With the server gone, the pool keeps trying to connect and a lease waits
/// until its circuit breaker trips (69 s measured here) or, for the calls a
/// failed batch retried one after the other, for as many times that: requests
/// went unanswered for minutes after a `kill -9` of the postmaster. Here a
/// lease not granted within `patience` is cancelled (the pool lets go of a
/// cancelled request at once) and the call fails with `StoreUnavailable`;
/// a statement running on a leased connection is given until `deadline`
/// (from the call) to finish. Past it the call fails with `StoreUnavailable`
/// and the connection is closed, which ends the statement and makes the pool
/// open a new one: a server killed mid-statement may never answer on it (a
/// request in flight at a `kill -9` of the postmaster under load went
/// unanswered for minutes).
///
/// After a lease that timed out, calls fail at once for the next `patience`
/// (a breaker, open): requests that queued behind the failed ones would
/// otherwise each wait out the patience again. The first call after that
/// tries the server again.
///
/// One timer task per call: the coalesced paths (intake, delivery records, rate
/// counts) take one per batch, not per request.
struct BoundedPool: Sendable {
    let client: PostgresClient
    let patience: Duration
    /// How long a call may take in all, lease and statements; nil for no bound.
    let deadline: Duration?
    let location: PostgresLocation
    private let breaker = Breaker()

    init(client: PostgresClient, patience: Duration, deadline: Duration?, location: PostgresLocation) {
        self.client = client
        self.patience = patience
        self.deadline = deadline.map { max($0, patience) }
        self.location = location
    }

    /// `body` on a connection leased within `patience`, finished within the
    /// pool's `deadline` unless `unbounded` (maintenance that may take long:
    /// retention, queueing a campaign).
    ///
    /// The lease runs in a task of its own and the caller waits for whichever
    /// comes first, the answer or the timer: a lease the pool does not let go
    /// of promptly (a task group would wait for it, cancelled or not) cannot
    /// hold the caller past the patience.
    /// - Throws: `StoreUnavailable(.noAnswer)` when no connection came in time;
    ///   whatever `body` throws.
    func withConnection<T: Sendable>(
        unbounded: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        guard !breaker.isOpen else {
            throw StoreUnavailable(
                .noAnswer,
                detail: "The PostgreSQL store \(location) cannot be used: no connection within \(patience), a moment ago."
            )
        }
        let (client, patience, breaker, location) = (client, patience, breaker, location)
        let deadline = unbounded ? nil : deadline
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let lease = Lease()
                let work = Task {
                    do {
                        let value = try await client.withConnection { connection in
                            lease.granted(connection)
                            breaker.close()
                            let value = try await body(connection)
                            // Done before the connection goes back to the pool, so the
                            // timer never closes one another call has leased since.
                            lease.finished()
                            return value
                        }
                        race.finish(.success(value))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: patience)
                    guard !Task.isCancelled else { return }
                    if lease.isWaiting {
                        breaker.open(for: patience)
                        race.finish(
                            .failure(
                                StoreUnavailable(
                                    .noAnswer,
                                    detail: "The PostgreSQL store \(location) cannot be used: no connection within \(patience)."
                                )
                            )
                        )
                        work.cancel()
                        return
                    }
                    guard let deadline else { return }
                    try? await Task.sleep(for: deadline - patience)
                    guard !Task.isCancelled, let connection = lease.takeOver() else { return }
                    race.finish(
                        .failure(
                            StoreUnavailable(
                                .noAnswer,
                                detail: "The PostgreSQL store \(location) cannot be used: no answer within \(deadline)."
                            )
                        )
                    )
                    work.cancel()
                    try? await connection.close()
                }
                race.tasks(work: work, timer: timer)
            }
        } onCancel: {
            race.cancel()
        }
    }

    /// `body` in one transaction on a connection leased within `patience`.
    func withTransaction<T: Sendable>(
        logger: Logger,
        unbounded: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection(unbounded: unbounded) { connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }
}

/// One call's answer, from whichever of its lease and its timer comes first;
/// the other is cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func tasks(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.work = work
            state.timer = timer
            return state.cancelled || state.continuation == nil
        }
        if cancelled {
            work.cancel()
            timer.cancel()
        }
    }

    /// Resumes the caller once; later answers are dropped.
    func finish(_ result: Result<T, any Error>) {
        let (continuation, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        timer?.cancel()
        continuation?.resume(with: result)
    }

    func cancel() {
        let work = state.withLock { state in
            state.cancelled = true
            return state.work
        }
        work?.cancel()
    }
}

/// Whether calls fail at once: until a moment after a lease timed out.
private final class Breaker: Sendable {
    private let openUntil = Mutex<ContinuousClock.Instant?>(nil)
    var isOpen: Bool { openUntil.withLock { $0.map { ContinuousClock.now < $0 } ?? false } }
    func open(for duration: Duration) { openUntil.withLock { $0 = ContinuousClock.now + duration } }
    func close() { openUntil.withLock { if $0 != nil { $0 = nil } } }
}

/// One call's connection: waited for, granted, finished with, or taken over
/// by the call's timer past the deadline (then only the timer may close it).
private final class Lease: Sendable {
    private enum State {
        case waiting
        case granted(PostgresConnection)
        case finished
        case takenOver
    }

    private let state = Mutex(State.waiting)

    var isWaiting: Bool { state.withLock { if case .waiting = $0 { true } else { false } } }

    func granted(_ connection: PostgresConnection) {
        state.withLock { if case .waiting = $0 { $0 = .granted(connection) } }
    }

    func finished() {
        state.withLock { if case .granted = $0 { $0 = .finished } }
    }

    /// The connection, when its statements are still running; none after.
    func takeOver() -> PostgresConnection? {
        state.withLock { state in
            guard case .granted(let connection) = state else { return nil }
            state = .takenOver
            return connection
        }
    }
}
