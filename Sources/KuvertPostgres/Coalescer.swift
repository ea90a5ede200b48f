import Synchronization

/// Calls that arrive together, made as one: a caller's item waits while
/// `flights` batches are on their way to the server and goes in the next one,
/// so under load one round trip and one transaction serve many requests,
/// while a call alone goes at once. The store's group commit, as SQLite's
/// `GroupCommit` is for that store.
///
/// `flush` answers a batch's items in order; should it throw, every caller of
/// that batch gets the error. Batches fly in tasks of their own, never in a
/// caller's: a caller's cancellation (a client gone) must not fail the others.
final class Coalescer<Item: Sendable, Answer: Sendable>: Sendable {
    private typealias Waiter = (item: Item, continuation: CheckedContinuation<Answer, any Error>)
    private struct State {
        var waiting: [Waiter] = []
        var flying = 0
    }

    private let state = Mutex(State())
    private let flights: Int
    private let maximumBatch: Int
    private let flush: @Sendable ([Item]) async throws -> [Answer]

    /// - Parameters:
    ///   - flights: batches on their way at once (connections used).
    ///   - maximumBatch: items in one batch at most.
    init(flights: Int, maximumBatch: Int, flush: @escaping @Sendable ([Item]) async throws -> [Answer]) {
        precondition(flights >= 1 && maximumBatch >= 1)
        self.flights = flights
        self.maximumBatch = maximumBatch
        self.flush = flush
    }

    /// Calls waiting for the next batch (not those on their way).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func call(_ item: Item) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            let starts = state.withLock { state -> Bool in
                state.waiting.append((item, continuation))
                guard state.flying < flights else { return false }
                state.flying += 1
                return true
            }
            if starts { Task { await fly() } }
        }
    }

    /// Takes batches until nobody waits.
    private func fly() async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                guard !state.waiting.isEmpty else {
                    state.flying -= 1
                    return []
                }
                let count = min(maximumBatch, state.waiting.count)
                defer { state.waiting.removeFirst(count) }
                return Array(state.waiting.prefix(count))
            }
            guard !batch.isEmpty else { return }
            do {
                let answers = try await flush(batch.map(\.item))
                guard answers.count == batch.count else {
                    throw CoalescerError(items: batch.count, answers: answers.count)
                }
                for (waiter, answer) in zip(batch, answers) { waiter.continuation.resume(returning: answer) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}

/// A batch whose answers do not match its items: a fault of the store's SQL.
struct CoalescerError: Error, CustomStringConvertible {
    var items: Int
    var answers: Int
    var description: String { "a batch of \(items) calls came back with \(answers) answers" }
}
