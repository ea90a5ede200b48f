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
/// a statement already running on a leased connection is left to finish.
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
    let location: PostgresLocation
    private let breaker = Breaker()

    init(client: PostgresClient, patience: Duration, location: PostgresLocation) {
        self.client = client
        self.patience = patience
        self.location = location
    }

    /// `body` on a connection leased within `patience`.
    ///
    /// The lease runs in a task of its own and the caller waits for whichever
    /// comes first, the answer or the timer: a lease the pool does not let go
    /// of promptly (a task group would wait for it, cancelled or not) cannot
    /// hold the caller past the patience.
    /// - Throws: `StoreUnavailable(.noAnswer)` when no connection came in time;
    ///   whatever `body` throws.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard !breaker.isOpen else {
            throw StoreUnavailable(
                .noAnswer, detail: "The PostgreSQL store \(location) cannot be used: no connection within \(patience), a moment ago.")
        }
        let (client, patience, breaker, location) = (client, patience, breaker, location)
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let leased = LeaseFlag()
                let work = Task {
                    do {
                        let value = try await client.withConnection { connection in
                            leased.set()
                            breaker.close()
                            return try await body(connection)
                        }
                        race.finish(.success(value))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: patience)
                    // Only a lease still waiting gives up; a statement under way is left to finish.
                    guard !Task.isCancelled, !leased.isSet else { return }
                    breaker.open(for: patience)
                    race.finish(.failure(StoreUnavailable(
                        .noAnswer, detail: "The PostgreSQL store \(location) cannot be used: no connection within \(patience).")))
                    work.cancel()
                }
                race.tasks(work: work, timer: timer)
            }
        } onCancel: {
            race.cancel()
        }
    }

    /// `body` in one transaction on a connection leased within `patience`.
    func withTransaction<T: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
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
        if cancelled { work.cancel(); timer.cancel() }
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

/// Set once a lease is granted; read by the timer of the same call.
private final class LeaseFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
