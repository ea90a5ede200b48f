import Foundation

/// What retention needs from the store.
public protocol RetentionStore: Sendable {
    /// Pending subscriptions requested before `before` and never confirmed.
    func expiredPendingCount(before: Date) async throws -> Int
    /// Deletes pending subscriptions requested before `before`, with their
    /// ledger and mail, and their subscriber when nothing else is left of them,
    /// leaving no copy in the store's own files. Returns how many subscriptions went.
    func deleteExpiredPending(before: Date, now: Date) async throws -> Int
    /// People whose every subscription ended (unsubscribed or bounced) before
    /// `endedBefore`, not yet erased: their row ids and stored address keys,
    /// as stored (never re-parsed, so no stored address escapes retention).
    func subscribersToErase(endedBefore: Date) async throws -> [ErasureCandidate]
    /// Finished messages (sent, failed, skipped) older than `before`.
    func oldMessageCount(before: Date) async throws -> Int
    /// Deletes finished messages older than `before`, in batches of `batch`
    /// rows, each in one transaction that first adds them to their campaign's
    /// totals; with them the per-message audit rows of earlier versions. The
    /// consent ledger is untouched. Returns how many messages went.
    func deleteOldMessages(before: Date, now: Date, batch: Int) async throws -> Int
}

/// A person whose retention has run out: their id and the case-folded address
/// the suppression hash is made of.
public struct ErasureCandidate: Sendable, Equatable {
    public var id: Int64
    public var addressKey: String

    public init(id: Int64, addressKey: String) {
        self.id = id
        self.addressKey = addressKey
    }
}
