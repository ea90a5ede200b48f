import Foundation

/// The webhook outbox. The store queues an event in the transaction of each
/// change it reports (a confirmation, an unsubscription or bounce of an
/// active subscription, an erasure) while webhooks are on; `WebhookSender`
/// leases and sends them.
public protocol WebhookStore: Sendable {
    /// Turns the queueing of events on or off for the whole store: every node
    /// that shares it sees the same. `kuvert serve` and `kuvert worker` set it
    /// at start from `KUVERT_WEBHOOK_URL`.
    func setWebhooks(enabled: Bool) async throws
    /// Claims due events (and those whose lease expired), oldest first, for
    /// `holder` until `now + leaseFor`: never an event while an earlier one of
    /// the same subscription waits, so each subscription's events arrive in order.
    func leaseDueWebhooks(limit: Int, leaseFor: TimeInterval, holder: LeaseHolder, now: Date) async throws -> [WebhookEvent]
    /// Records an attempt: delivered, to be tried again at `retryAt`, or (with
    /// neither) given up. `reply` is the receiver's status or the connection error.
    func recordWebhook(id: Int64, delivered: Bool, reply: String, retryAt: Date?, now: Date) async throws
    /// Counts by status and the events not yet sent, oldest first.
    func webhookOverview(limit: Int) async throws -> WebhookOverview
}

/// The webhook outbox for `kuvert queue`.
public struct WebhookOverview: Sendable {
    public var counts: [WebhookEvent.Status: Int]
    /// Queued and leased events, oldest first.
    public var waiting: [WebhookEvent]

    public init(counts: [WebhookEvent.Status: Int], waiting: [WebhookEvent]) {
        self.counts = counts
        self.waiting = waiting
    }
}
