import Foundation
import GRDB
import KuvertCore

extension Campaign: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "campaign"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Read by column, not through `Decodable`: the mailer reads a campaign for every batch it sends.
    public init(row: Row) throws {
        self.init(
            id: row["id"],
            listId: row["listId"],
            subject: row["subject"],
            bodyMarkdown: row["bodyMarkdown"],
            bodyHTML: row["bodyHTML"],
            bodyText: row["bodyText"],
            status: try Status(rawValue: row["status"]).orThrow(),
            createdAt: row["createdAt"],
            sendAt: row["sendAt"],
            queuedAt: row["queuedAt"]
        )
    }
}

extension SQLiteStore: CampaignStore {
    public func createCampaign(_ campaign: Campaign, listSlug: String, actor: String) async throws -> Campaign {
        try await writer.write { db in
            var campaign = campaign
            let list = try Self.list(db, slug: listSlug)
            campaign.listId = try list.id.orThrow()
            try campaign.insert(db)
            var audit = AuditEvent(
                occurredAt: campaign.createdAt,
                actor: actor,
                action: "campaign.created",
                listId: list.id,
                detail: "campaign \(campaign.id ?? 0)"
            )
            try audit.insert(db)
            return campaign
        }
    }

    public func campaign(id: Int64) async throws -> CampaignAndList? {
        try await writer.read { db in
            guard let campaign = try Campaign.fetchOne(db, key: id) else { return nil }
            return CampaignAndList(campaign: campaign, list: try MailingList.fetchOne(db, key: campaign.listId).orThrow())
        }
    }

    public func queueCampaign(id: Int64, sendAt: Date, now: Date, batchSize: Int, actor: String) async throws -> Int {
        let listId = try await writer.write { db -> Int64 in
            guard var campaign = try Campaign.fetchOne(db, key: id) else { throw KuvertError.unknownCampaign(id) }
            guard campaign.status != .cancelled else {
                throw KuvertError.campaignState("Campaign \(id) is cancelled; create a new one to send again.")
            }
            if campaign.status == .draft { campaign.status = .sending }
            campaign.sendAt = sendAt
            campaign.queuedAt = now
            try campaign.update(db)
            var audit = AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "campaign.queued",
                listId: campaign.listId,
                detail: "campaign \(id)"
            )
            try audit.insert(db)
            return campaign.listId
        }
        var queued = 0
        var after: Int64 = 0
        while true {
            let start = after
            let (last, inserted) = try await writer.write { db -> (Int64?, Int) in
                let last = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT max(id) FROM (SELECT id FROM subscription
                        WHERE listId = ? AND status = 'active' AND id > ? ORDER BY id LIMIT ?)
                        """,
                    arguments: [listId, start, batchSize]
                )
                guard let last else { return (nil, 0) }
                try db.execute(
                    sql: """
                        INSERT INTO outboxMessage (kind, subscriptionId, campaignId, status, dueAt, attempts, createdAt)
                        SELECT 'newsletter', id, :campaign, 'queued', :due, 0, :now FROM subscription
                        WHERE listId = :list AND status = 'active' AND id > :after AND id <= :last
                          AND subscriberId NOT IN (SELECT id FROM subscriber WHERE restrictedAt IS NOT NULL)
                        ON CONFLICT DO NOTHING
                        """,
                    arguments: [
                        "campaign": id, "due": StoreTime.value(sendAt), "now": StoreTime.value(now), "list": listId, "after": start, "last": last,
                    ]
                )
                return (last, db.changesCount)
            }
            guard let last else { break }
            queued += inserted
            after = last
        }
        return queued
    }

    public func queueTestMessage(campaignId: Int64, to address: EmailAddress, now: Date) async throws -> Int64 {
        try await writer.write { db in
            guard try Campaign.fetchOne(db, key: campaignId) != nil else { throw KuvertError.unknownCampaign(campaignId) }
            var message = OutboxMessage(
                kind: .test,
                subscriptionId: nil,
                status: .queued,
                dueAt: now,
                createdAt: now,
                campaignId: campaignId,
                testRecipient: address.value
            )
            try message.insert(db)
            return try message.id.orThrow()
        }
    }

    public func editDraft(id: Int64, subject: String?, body: CampaignBody?, now: Date, actor: String) async throws -> Campaign {
        try await writer.write { db in
            guard var campaign = try Campaign.fetchOne(db, key: id) else { throw KuvertError.unknownCampaign(id) }
            try campaign.requireDraft(doing: "edited")
            if let subject { campaign.subject = subject }
            if let body { (campaign.bodyMarkdown, campaign.bodyHTML, campaign.bodyText) = (body.markdown, body.html, body.text) }
            try campaign.update(db)
            var audit = AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "campaign.edited",
                listId: campaign.listId,
                detail: "campaign \(id)"
            )
            try audit.insert(db)
            return campaign
        }
    }

    public func deleteDraft(id: Int64, now: Date, actor: String) async throws {
        try await writer.write { db in
            guard let campaign = try Campaign.fetchOne(db, key: id) else { throw KuvertError.unknownCampaign(id) }
            try campaign.requireDraft(doing: "deleted")
            guard
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM outboxMessage WHERE campaignId = ? AND status = 'leased'",
                    arguments: [id]
                ) == 0
            else { throw KuvertError.campaignState("A test copy of campaign \(id) is being sent; try again in a moment.") }
            try db.execute(sql: "DELETE FROM outboxMessage WHERE campaignId = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM campaign WHERE id = ?", arguments: [id])
            var audit = AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "campaign.deleted",
                listId: campaign.listId,
                detail: "campaign \(id)"
            )
            try audit.insert(db)
        }
    }

    public func changeCampaign(id: Int64, to status: Campaign.Status, now: Date, actor: String) async throws -> Campaign {
        try await writer.write { db in
            guard var campaign = try Campaign.fetchOne(db, key: id) else { throw KuvertError.unknownCampaign(id) }
            guard try campaign.status.changes(to: status, campaign: id) else { return campaign }
            campaign.status = status
            try campaign.update(db)
            if status == .cancelled {
                try db.execute(
                    sql: """
                        UPDATE outboxMessage SET status = 'skipped', lastReply = 'campaign cancelled', leaseExpiresAt = NULL
                        WHERE campaignId = ? AND kind = 'newsletter' AND status IN ('queued', 'leased')
                        """,
                    arguments: [id]
                )
            }
            var audit = AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "campaign.\(status == .sending ? "resumed" : status.rawValue)",
                listId: campaign.listId,
                detail: "campaign \(id)"
            )
            try audit.insert(db)
            return campaign
        }
    }

    public func campaignProgress(id: Int64?, before: Int64?, limit: Int, now: Date) async throws -> [CampaignProgress] {
        try await writer.read { db in
            // One query: each campaign with its list's slug and its newsletters'
            // counts, plus the totals of messages message retention deleted.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT campaign.*, mailingList.slug AS listSlug,
                      count(message.id) FILTER (WHERE message.status = 'queued') AS queuedCount,
                      count(message.id) FILTER (WHERE message.status = 'leased') AS leasedCount,
                      count(message.id) FILTER (WHERE message.status = 'sent') + campaign.purgedSent AS sentCount,
                      count(message.id) FILTER (WHERE message.status = 'failed') + campaign.purgedFailed AS failedCount,
                      count(message.id) FILTER (WHERE message.status = 'skipped') + campaign.purgedSkipped AS skippedCount,
                      count(message.id) FILTER (WHERE message.status = 'sent' AND message.sentAt > :minuteAgo) AS lastMinute,
                      max(message.sentAt) FILTER (WHERE message.status = 'sent') AS lastSentAt
                    FROM campaign
                    JOIN mailingList ON mailingList.id = campaign.listId
                    LEFT JOIN outboxMessage AS message ON message.campaignId = campaign.id AND message.kind = 'newsletter'
                    WHERE (:id IS NULL OR campaign.id = :id) AND (:before IS NULL OR campaign.id < :before)
                    GROUP BY campaign.id ORDER BY campaign.id DESC LIMIT :limit
                    """,
                arguments: [
                    "id": id, "before": before, "limit": max(limit, 0),
                    "minuteAgo": StoreTime.value(now.addingTimeInterval(-60)),
                ]
            )
            return try rows.map { row in
                CampaignProgress(
                    campaign: try Campaign(row: row),
                    listSlug: row["listSlug"],
                    queued: row["queuedCount"],
                    leased: row["leasedCount"],
                    sent: row["sentCount"],
                    failed: row["failedCount"],
                    skipped: row["skippedCount"],
                    sentLastMinute: row["lastMinute"],
                    lastSentAt: row["lastSentAt"]
                )
            }
        }
    }

    public func outboxMessage(id: Int64) async throws -> OutboxMessage? {
        try await writer.read { db in try OutboxMessage.fetchOne(db, key: id) }
    }
}
