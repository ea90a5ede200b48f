import Foundation
import GRDB

/// What a worker decided about one leased message.
public enum DeliveryRecord: Sendable, Equatable {
    /// The server accepted it.
    case sent(SendOutcome)
    /// A transient failure: try again at the given time.
    case retry(SendOutcome, at: Date)
    /// Given up. A permanent refusal counts towards bouncing the subscription.
    case failed(SendOutcome)
    /// Not sent because it no longer applies.
    case skipped(reason: String)
}

/// The outbox as mailer workers use it. Blocking: workers call these from
/// threads of their own, never from the cooperative pool.
public protocol DeliveryStore: Sendable {
    /// Claims up to `limit` messages that are due, or whose lease expired (a
    /// crashed worker's), until `now + leaseFor`; one transaction.
    func leaseDueMessages(limit: Int, leaseFor: TimeInterval, now: Date) throws -> [OutboxDelivery]
    /// Records what became of a leased message; for a refusal of the mailbox,
    /// marks the subscription `bounced` once `bounceLimit` refusals follow each other.
    func recordDelivery(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) throws
    /// Returns leased messages to the queue untouched, as at shutdown.
    func releaseLeases(_ ids: [Int64]) throws
}

extension AppDatabase: DeliveryStore {
    // Leases and delivery records are bookkeeping for at-least-once delivery: a
    // crash of the process loses none of them, and a power cut can at worst
    // undo the last few, whose messages then go again. They are committed with
    // `synchronous = NORMAL` (see `GroupCommit.Durability`), together with
    // whatever other sessions are writing at the time.
    public func leaseDueMessages(limit: Int, leaseFor: TimeInterval, now: Date) throws -> [OutboxDelivery] {
        try groupCommit.writeAndWait(.processCrash) { db in
            // Messages of paused or cancelled campaigns wait; tests of drafts go.
            let leased = try OutboxMessage.fetchAll(
                db,
                sql: """
                    UPDATE outboxMessage SET status = 'leased', leaseExpiresAt = :until
                    WHERE id IN (
                        SELECT id FROM outboxMessage
                        WHERE status = 'queued' AND dueAt <= :now
                          AND (campaignId IS NULL OR kind = 'test'
                               OR campaignId IN (SELECT id FROM campaign WHERE status = 'sending'))
                        ORDER BY dueAt, id LIMIT :limit)
                    OR id IN (
                        SELECT id FROM outboxMessage WHERE status = 'leased' AND leaseExpiresAt <= :now LIMIT :limit)
                    RETURNING *
                    """,
                arguments: ["until": StoreTime.value(now.addingTimeInterval(leaseFor)), "now": StoreTime.value(now), "limit": limit])
            var campaigns: [Int64: Campaign] = [:]
            return try leased.sorted { ($0.id ?? 0) < ($1.id ?? 0) }.compactMap { try Self.delivery(db, for: $0, campaigns: &campaigns) }
        }
    }

    public func recordDelivery(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) throws {
        try groupCommit.writeAndWait(.processCrash) { db in
            switch record {
            case .sent(let outcome):
                try Self.update(db, id, status: .sent, outcome: outcome, dueAt: nil, sentAt: now, countsAttempt: true)
                // The outbox row changes; the audit log keeps the send for good.
                try db.cachedStatement(
                    sql: """
                        INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                        SELECT :now, 'worker', 'message.sent', subscription.subscriberId, subscription.listId,
                               outboxMessage.kind || ' #' || outboxMessage.id
                        FROM outboxMessage LEFT JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                        WHERE outboxMessage.id = :id
                        """).execute(arguments: ["now": StoreTime.value(now), "id": id])
            case .retry(let outcome, let at):
                try Self.update(db, id, status: .queued, outcome: outcome, dueAt: at, sentAt: nil, countsAttempt: true)
            case .failed(let outcome):
                try Self.update(db, id, status: .failed, outcome: outcome, dueAt: nil, sentAt: nil, countsAttempt: true)
                if outcome.isMailboxRefusal { try Self.bounceIfRepeated(db, messageId: id, limit: bounceLimit, now: now) }
            case .skipped(let reason):
                try Self.update(db, id, status: .skipped, outcome: SendOutcome(kind: .permanent, code: nil, reply: reason),
                                dueAt: nil, sentAt: nil, countsAttempt: false)
            }
        }
    }

    /// An outbox row with its recipient, list, subscription and campaign; nil
    /// when what it refers to is gone.
    /// - Parameter campaigns: campaigns read so far in this transaction, by id
    ///   (a batch of newsletters shares one).
    static func delivery(_ db: Database, for message: OutboxMessage, campaigns: inout [Int64: Campaign]) throws -> OutboxDelivery? {
        var campaign: Campaign?
        if let campaignId = message.campaignId {
            campaign = try campaigns[campaignId] ?? Campaign.fetchOne(db, key: campaignId)
            campaigns[campaignId] = campaign
        }
        if let subscriptionId = message.subscriptionId {
            guard let subscription = try Subscription.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM subscription WHERE id = ?"), arguments: [subscriptionId])
            else { return nil }
            let address = try String.fetchOne(
                try db.cachedStatement(sql: "SELECT address FROM subscriber WHERE id = ?"), arguments: [subscription.subscriberId])
            let list = try MailingList.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM mailingList WHERE id = ?"), arguments: [subscription.listId])
            return OutboxDelivery(
                message: message, address: try address.orThrow(), list: try list.orThrow(),
                subscription: subscription, campaign: campaign)
        }
        guard let campaign, let recipient = message.testRecipient else { return nil }
        return OutboxDelivery(
            message: message, address: recipient, list: try MailingList.fetchOne(db, key: campaign.listId).orThrow(),
            subscription: nil, campaign: campaign)
    }

    public func releaseLeases(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try writer.write { db in
            try db.execute(
                sql: "UPDATE outboxMessage SET status = 'queued', leaseExpiresAt = NULL WHERE status = 'leased' AND id IN (\(databaseQuestionMarks(count: ids.count)))",
                arguments: StatementArguments(ids))
        }
    }

    private static func update(
        _ db: Database, _ id: Int64, status: OutboxMessage.Status, outcome: SendOutcome, dueAt: Date?, sentAt: Date?,
        countsAttempt: Bool
    ) throws {
        try db.cachedStatement(
            sql: """
                UPDATE outboxMessage
                SET status = :status, leaseExpiresAt = NULL, lastReply = :reply, lastReplyCode = :code,
                    dueAt = coalesce(:dueAt, dueAt), sentAt = :sentAt, attempts = attempts + :attempt
                WHERE id = :id
                """).execute(
            arguments: [
                "status": status.rawValue, "reply": String(outcome.reply.prefix(512)), "code": outcome.code,
                "dueAt": dueAt.map(StoreTime.value), "sentAt": sentAt.map(StoreTime.value), "attempt": countsAttempt ? 1 : 0,
                "id": id,
            ])
    }

    /// Marks the message's subscription bounced when its last `limit` finished
    /// messages were all refused with 5xx (this one for its mailbox).
    private static func bounceIfRepeated(_ db: Database, messageId: Int64, limit: Int, now: Date) throws {
        guard let subscriptionId = try Int64.fetchOne(
            db, sql: "SELECT subscriptionId FROM outboxMessage WHERE id = ?", arguments: [messageId])
        else { return }
        let recent = try Int?.fetchAll(
            db,
            sql: """
                SELECT lastReplyCode FROM outboxMessage
                WHERE subscriptionId = ? AND status IN ('sent', 'failed')
                ORDER BY id DESC LIMIT ?
                """,
            arguments: [subscriptionId, limit])
        guard recent.count == limit, recent.allSatisfy({ ($0 ?? 0) >= 500 }) else { return }
        try db.execute(
            sql: """
                UPDATE subscription SET status = 'bounced', endedAt = :now, updatedAt = :now
                WHERE id = :id AND status IN ('pending', 'active')
                """,
            arguments: ["now": StoreTime.value(now), "id": subscriptionId])
        if db.changesCount > 0 {
            let subscription = try Subscription.fetchOne(db, key: subscriptionId)
            var audit = AuditEvent(
                occurredAt: now, actor: "worker", action: "subscription.bounced", subscriberId: subscription?.subscriberId,
                listId: subscription?.listId, detail: "\(limit) permanent refusals")
            try audit.insert(db)
        }
    }
}
