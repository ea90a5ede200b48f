import Foundation

/// The outbox as mailer workers use it. Blocking: workers call these from
/// threads of their own, never from the cooperative pool.
public protocol DeliveryStore: Sendable {
    /// Claims up to `limit` messages that are due, or whose lease expired (a
    /// crashed worker's), for `holder` until `now + leaseFor`; one transaction.
    func leaseDueMessages(limit: Int, leaseFor: TimeInterval, holder: LeaseHolder, now: Date) throws -> [OutboxDelivery]
    /// Records what became of a leased message and applies `BouncePolicy`: a
    /// delivery resets the subscription's count of mailbox refusals, a mailbox
    /// refusal adds one, and at `bounceLimit` the subscription is `bounced`.
    func recordDelivery(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) throws
    /// Returns leased messages to the queue untouched, as at shutdown.
    func releaseLeases(_ ids: [Int64]) throws
    /// Every holder of a lease now, with how many messages each holds.
    func leaseHolders() throws -> [LeaseClaim]
    /// Returns every message `holder` claimed to the queue, as for a holder
    /// known to be gone. Returns how many went back.
    func releaseLeases(heldBy holder: String) throws -> Int
    /// How the mailer's sessions put their records into this store.
    var recording: DeliveryRecording { get }
    /// Called on a mailer session's thread that runs below the process's other
    /// threads (niced beside the web): a store whose writers share work must
    /// not leave others' writes waiting on this thread.
    func callingThreadRunsBelowOthers()
}

/// How the mailer's sessions put their records into a store: each store says
/// which, so the mailer never asks what store it has.
public enum DeliveryRecording: Sendable {
    /// Each record committed on a thread of the session's own while the next
    /// message is sent (`recordDelivery`).
    case committed
    /// Each record committed as a task of its own: for a store whose records
    /// are network calls, where a task saves a thread's hand-off.
    case committedAsync(any AsyncRecordingDeliveryStore)
    /// Into a `DeliveryJournal` file beside the store at once, then into the
    /// store a batch at a time: only for a store on this machine's disk, whose
    /// fate the journal shares.
    case journaled(DeliveryJournal, any JournaledDeliveryStore)
}

extension DeliveryStore {
    public var recording: DeliveryRecording { .committed }
    public func callingThreadRunsBelowOthers() {}
}

/// A delivery store on this machine's disk, whose mailer sessions keep their
/// records in a `DeliveryJournal` beside it and write them a batch at a time.
public protocol JournaledDeliveryStore: DeliveryStore {
    /// Where the journals go; nil for a store without a file.
    var deliveryJournal: DeliveryJournal? { get }
    /// Records deliveries in one transaction, each only while its message is
    /// still leased by `holder` (so applying one twice changes nothing), with
    /// `BouncePolicy` as `recordDelivery`. Returns how many were applied.
    func recordDeliveries(_ entries: [DeliveryRecord.Entry], heldBy holder: LeaseHolder, bounceLimit: Int) throws -> Int
}

/// A delivery store whose records are network calls (PostgreSQL): the
/// committing recorder starts each as a task of its own instead of blocking a
/// thread on it, which saves a thread's hand-off per message.
public protocol AsyncRecordingDeliveryStore: DeliveryStore {
    /// `recordDelivery`, awaited.
    func recordDeliveryAsync(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) async throws
}

/// A holder of leases and how many messages it holds now.
public struct LeaseClaim: Sendable, Equatable {
    /// The holder's `LeaseHolder` description.
    public var holder: String
    public var messages: Int

    public init(holder: String, messages: Int) {
        self.holder = holder
        self.messages = messages
    }
}
