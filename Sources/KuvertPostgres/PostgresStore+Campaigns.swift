import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: CampaignStore {
    public func createCampaign(_ campaign: Campaign, listSlug: String, actor: String) async throws -> Campaign {
        try await transaction { c in
            var campaign = campaign
            let (listId, _) = try await Self.listKey(c, slug: listSlug)
            campaign.listId = listId
            let id = try await c.value(
                """
                INSERT INTO campaign (listId, subject, bodyMarkdown, bodyHTML, bodyText, status, createdAt, sendAt, queuedAt)
                VALUES (\(listId), \(campaign.subject), \(campaign.bodyMarkdown), \(campaign.bodyHTML), \(campaign.bodyText),
                        \(campaign.status.rawValue), \(campaign.createdAt), \(campaign.sendAt), \(campaign.queuedAt))
                RETURNING id
                """,
                as: Int64.self
            ).orThrow()
            campaign.id = id
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(campaign.createdAt), \(actor), 'campaign.created', \(listId), \("campaign \(id)"))
                """
            )
            return campaign
        }
    }

    public func campaign(id: Int64) async throws -> CampaignAndList? {
        try await connection { c in try await Self.campaign(c, id: id, locking: false) }
    }

    public func queueCampaign(id: Int64, sendAt: Date, now: Date, batchSize: Int, actor: String) async throws -> Int {
        let listId = try await transaction { c -> Int64 in
            guard let found = try await Self.campaign(c, id: id, locking: true) else { throw KuvertError.unknownCampaign(id) }
            guard found.campaign.status != .cancelled else {
                throw KuvertError.campaignState("Campaign \(id) is cancelled; create a new one to send again.")
            }
            try await c.run(
                """
                WITH queued AS (
                    UPDATE campaign SET status = CASE WHEN status = 'draft' THEN 'sending' ELSE status END,
                        sendAt = \(sendAt), queuedAt = \(now)
                    WHERE id = \(id)
                )
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), 'campaign.queued', \(found.campaign.listId), \("campaign \(id)"))
                """
            )
            return found.campaign.listId
        }
        return try await inRanges(ofActive: listId, batchSize: batchSize) { [self] after, upTo in
            try await connection(unbounded: true) { c in
                try await c.value(
                    """
                    WITH inserted AS (
                        INSERT INTO outboxMessage (kind, subscriptionId, campaignId, status, dueAt, attempts, createdAt)
                        SELECT 'newsletter', id, \(id), 'queued', \(sendAt), 0, \(now) FROM subscription
                        WHERE listId = \(listId) AND status = 'active' AND id > \(after)
                          AND (\(upTo)::bigint IS NULL OR id <= \(upTo))
                          AND subscriberId NOT IN (SELECT id FROM subscriber WHERE restrictedAt IS NOT NULL)
                        ON CONFLICT DO NOTHING RETURNING 1
                    )
                    SELECT count(*) FROM inserted
                    """,
                    as: Int.self
                ) ?? 0
            }
        }
    }

    /// Runs `queue` over a list's active subscriptions in ranges of ids, so
    /// the list is never held or in memory at once: first where each range
    /// ends (every `batchSize`-th active subscription, up to `last` when
    /// given), then the ranges, `flights` at a time, so that the server's cores
    /// insert side by side. The last range is open (`upTo` nil): what became
    /// active meanwhile is in it. Returns the sum of what `queue` returns.
    func inRanges(
        ofActive listId: Int64,
        through last: Int64? = nil,
        batchSize: Int,
        _ queue: @escaping @Sendable (_ after: Int64, _ upTo: Int64?) async throws -> Int
    ) async throws -> Int {
        // Unbounded by the pool's deadline: a list of millions takes its time.
        let ends = try await connection(unbounded: true) { c in
            try await c.column(
                """
                SELECT id FROM (
                    SELECT id, row_number() OVER (ORDER BY id) AS position FROM subscription
                    WHERE listId = \(listId) AND status = 'active' AND (\(last)::bigint IS NULL OR id <= \(last))) active
                WHERE position % \(batchSize) = 0 ORDER BY id
                """,
                as: Int64.self
            )
        }
        let ranges = zip([0] + ends, ends.map(Optional.some) + [nil]).map { (after: $0, upTo: $1) }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            var queued = 0
            for (started, range) in ranges.enumerated() {
                if started >= Self.flights { queued += try await group.next() ?? 0 }
                group.addTask { try await queue(range.after, range.upTo) }
            }
            for try await inserted in group { queued += inserted }
            return queued
        }
    }

    public func queueTestMessage(campaignId: Int64, to address: EmailAddress, now: Date) async throws -> Int64 {
        try await transaction { c in
            guard try await Self.campaign(c, id: campaignId, locking: false) != nil else {
                throw KuvertError.unknownCampaign(campaignId)
            }
            return try await c.value(
                """
                INSERT INTO outboxMessage (kind, status, dueAt, attempts, createdAt, campaignId, testRecipient)
                VALUES ('test', 'queued', \(now), 0, \(now), \(campaignId), \(address.value)) RETURNING id
                """,
                as: Int64.self
            ).orThrow()
        }
    }

    public func changeCampaign(id: Int64, to status: Campaign.Status, now: Date, actor: String) async throws -> Campaign {
        try await transaction { c in
            guard var campaign = try await Self.campaign(c, id: id, locking: true)?.campaign else {
                throw KuvertError.unknownCampaign(id)
            }
            guard try campaign.status.changes(to: status, campaign: id) else { return campaign }
            campaign.status = status
            try await c.run("UPDATE campaign SET status = \(status.rawValue) WHERE id = \(id)")
            if status == .cancelled {
                try await c.run(
                    """
                    UPDATE outboxMessage SET status = 'skipped', lastReply = 'campaign cancelled', leaseExpiresAt = NULL,
                        leaseHolder = NULL
                    WHERE campaignId = \(id) AND kind = 'newsletter' AND status IN ('queued', 'leased')
                    """
                )
            }
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), \("campaign.\(status == .sending ? "resumed" : status.rawValue)"), \(campaign.listId),
                        \("campaign \(id)"))
                """
            )
            return campaign
        }
    }

    public func editDraft(id: Int64, subject: String?, body: CampaignBody?, now: Date, actor: String) async throws -> Campaign {
        try await transaction { c in
            guard var campaign = try await Self.campaign(c, id: id, locking: true)?.campaign else { throw KuvertError.unknownCampaign(id) }
            try campaign.requireDraft(doing: "edited")
            if let subject { campaign.subject = subject }
            if let body { (campaign.bodyMarkdown, campaign.bodyHTML, campaign.bodyText) = (body.markdown, body.html, body.text) }
            try await c.run(
                """
                WITH edited AS (
                    UPDATE campaign SET subject = \(campaign.subject), bodyMarkdown = \(campaign.bodyMarkdown),
                        bodyHTML = \(campaign.bodyHTML), bodyText = \(campaign.bodyText)
                    WHERE id = \(id)
                )
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), 'campaign.edited', \(campaign.listId), \("campaign \(id)"))
                """
            )
            return campaign
        }
    }

    public func deleteDraft(id: Int64, now: Date, actor: String) async throws {
        try await transaction { c in
            guard let campaign = try await Self.campaign(c, id: id, locking: true)?.campaign else { throw KuvertError.unknownCampaign(id) }
            try campaign.requireDraft(doing: "deleted")
            guard
                try await c.value(
                    "SELECT count(*) FROM outboxMessage WHERE campaignId = \(id) AND status = 'leased'",
                    as: Int.self
                ) == 0
            else { throw KuvertError.campaignState("A test copy of campaign \(id) is being sent; try again in a moment.") }
            try await c.run("DELETE FROM outboxMessage WHERE campaignId = \(id)")
            try await c.run("DELETE FROM campaign WHERE id = \(id)")
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), 'campaign.deleted', \(campaign.listId), \("campaign \(id)"))
                """
            )
        }
    }

    public func campaignProgress(id: Int64?, before: Int64?, limit: Int, now: Date) async throws -> [CampaignProgress] {
        try await connection { c in
            try await c.rows(
                """
                SELECT \(unescaped: Campaign.select("c")), l.slug,
                  count(m.id) FILTER (WHERE m.status = 'queued') AS queued,
                  count(m.id) FILTER (WHERE m.status = 'leased') AS leased,
                  count(m.id) FILTER (WHERE m.status = 'sent') + c.purgedSent AS sent,
                  count(m.id) FILTER (WHERE m.status = 'failed') + c.purgedFailed AS failed,
                  count(m.id) FILTER (WHERE m.status = 'skipped') + c.purgedSkipped AS skipped,
                  count(m.id) FILTER (WHERE m.status = 'sent' AND m.sentAt > \(now.addingTimeInterval(-60))) AS lastMinute,
                  max(m.sentAt) FILTER (WHERE m.status = 'sent') AS lastSentAt
                FROM campaign c JOIN mailingList l ON l.id = c.listId
                LEFT JOIN outboxMessage m ON m.campaignId = c.id AND m.kind = 'newsletter'
                WHERE (\(id)::bigint IS NULL OR c.id = \(id)) AND (\(before)::bigint IS NULL OR c.id < \(before))
                GROUP BY c.id, l.slug ORDER BY c.id DESC LIMIT \(max(limit, 0))
                """
            ).map { row in
                CampaignProgress(
                    campaign: try Campaign(row, "c"),
                    listSlug: try row["slug"].decode(String.self),
                    queued: try row["queued"].decode(Int.self),
                    leased: try row["leased"].decode(Int.self),
                    sent: try row["sent"].decode(Int.self),
                    failed: try row["failed"].decode(Int.self),
                    skipped: try row["skipped"].decode(Int.self),
                    sentLastMinute: try row["lastminute"].decode(Int.self),
                    lastSentAt: try row["lastsentat"].decode(Date?.self)
                )
            }
        }
    }

    public func outboxMessage(id: Int64) async throws -> OutboxMessage? {
        try await connection { c in
            try await c.rows("SELECT \(unescaped: OutboxMessage.select("m")) FROM outboxMessage m WHERE m.id = \(id)")
                .first.map { try OutboxMessage($0, "m") }
        }
    }

    /// A campaign with its list; with `locking`, the campaign's row stays locked
    /// until the transaction ends.
    static func campaign(_ c: PostgresConnection, id: Int64, locking: Bool) async throws -> CampaignAndList? {
        try await c.rows(
            """
            SELECT \(unescaped: Campaign.select("c")), \(unescaped: MailingList.select("l"))
            FROM campaign c JOIN mailingList l ON l.id = c.listId WHERE c.id = \(id) \(unescaped: locking ? "FOR UPDATE OF c" : "")
            """
        ).first.map { CampaignAndList(campaign: try Campaign($0, "c"), list: try MailingList($0, "l")) }
    }

}
