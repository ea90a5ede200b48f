import Foundation

/// Campaigns: creating, queueing, steering and following them.
public protocol CampaignStore: Sendable {
    /// Creates a draft campaign for a list, audited under `actor` (`cli`, `api:NAME`).
    /// - Throws: `KuvertError.unknownList`.
    func createCampaign(_ campaign: Campaign, listSlug: String, actor: String) async throws -> Campaign
    /// A campaign and its list.
    func campaign(id: Int64) async throws -> CampaignAndList?
    /// Queues one message per active subscription of the campaign's list that
    /// has none yet, due at `sendAt`, in batches of `batchSize` subscriptions
    /// (one transaction each, so intake is never held up for long and the list
    /// is never in memory). Returns how many were queued now.
    /// - Throws: `KuvertError.unknownCampaign`, `.campaignState` for a cancelled campaign.
    func queueCampaign(id: Int64, sendAt: Date, now: Date, batchSize: Int, actor: String) async throws -> Int
    /// Queues one test copy of a campaign to an address.
    func queueTestMessage(campaignId: Int64, to address: EmailAddress, now: Date) async throws -> Int64
    /// Pauses, resumes or cancels a campaign; cancelling skips its unsent messages.
    /// - Throws: `KuvertError.unknownCampaign`, `.campaignState` for a change that makes no sense.
    func changeCampaign(id: Int64, to status: Campaign.Status, now: Date, actor: String) async throws -> Campaign
    /// Changes a draft's subject or body (nil leaves it).
    /// - Throws: `KuvertError.unknownCampaign`, `.campaignState` for one that was queued.
    func editDraft(id: Int64, subject: String?, body: CampaignBody?, now: Date, actor: String) async throws -> Campaign
    /// Removes a draft, with the test copies sent of it.
    /// - Throws: `KuvertError.unknownCampaign`, `.campaignState` for one that was queued.
    func deleteDraft(id: Int64, now: Date, actor: String) async throws
    /// Counts for one campaign, or when `id` is nil for at most `limit`
    /// campaigns with ids below `before` (all when nil), newest first.
    func campaignProgress(id: Int64?, before: Int64?, limit: Int, now: Date) async throws -> [CampaignProgress]
    /// One outbox row as it stands.
    func outboxMessage(id: Int64) async throws -> OutboxMessage?
}

extension CampaignStore {
    /// Counts for one campaign, or the 50 newest when `id` is nil.
    public func campaignProgress(id: Int64?, now: Date) async throws -> [CampaignProgress] {
        try await campaignProgress(id: id, before: nil, limit: 50, now: now)
    }
}
