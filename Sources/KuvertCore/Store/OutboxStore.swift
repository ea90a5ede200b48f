import Foundation

/// The outbox, as far as operators look at it.
public protocol OutboxStore: Sendable {
    /// Counts by state and the messages not yet sent.
    func queueOverview(now: Date, limit: Int) async throws -> QueueOverview
    /// One outbox row with its recipient, list, subscription and campaign.
    func outboxDelivery(id: Int64) async throws -> OutboxDelivery?
    /// How many messages wait, by state, from the outbox's index alone (cheap
    /// enough for every metrics scrape).
    func outboxDepth(now: Date) async throws -> OutboxDepth
    /// Puts failed messages back in the queue, due now with a fresh count of
    /// attempts: the one with `id`, or every failed one for nil. Each goes
    /// through the composer again, which skips what no longer applies. One
    /// transaction with an audit entry; returns the ids put back.
    func retryFailed(id: Int64?, actor: String, now: Date) async throws -> [Int64]
}
