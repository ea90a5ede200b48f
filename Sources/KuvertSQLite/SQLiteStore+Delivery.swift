import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: JournaledDeliveryStore {
    /// A file store's journals are in `PATH-deliveries/`.
    public var deliveryJournal: DeliveryJournal? {
        (writer as? DatabasePool).map { DeliveryJournal(directory: $0.path + "-deliveries") }
    }

    /// A group commit holds the write lock and may carry web requests: such a
    /// thread never writes one (`GroupCommit.deprioritizeCallingThread`).
    public func callingThreadRunsBelowOthers() {
        GroupCommit.deprioritizeCallingThread()
    }

    /// Into a journal beside the file; a store in memory commits each record.
    public var recording: DeliveryRecording {
        deliveryJournal.map { .journaled($0, self) } ?? .committed
    }

    // Leases and delivery records are bookkeeping for at-least-once delivery: a
    // crash of the process loses none of them, and a power cut can at worst
    // undo the last few, whose messages then go again. They are committed with
    // `synchronous = NORMAL` (see `GroupCommit.Durability`), together with
    // whatever other sessions are writing at the time.
    public func leaseDueMessages(limit: Int, leaseFor: TimeInterval, holder: LeaseHolder, now: Date) throws -> [OutboxDelivery] {
        // The claim is a short write; the batch is read after it, beside the
        // writes of the web rather than holding them up.
        let ids = try groupCommit.writeAndWait(.processCrash) { db in
            // Messages of paused or cancelled campaigns wait; tests of drafts go.
            try Int64.fetchAll(
                try db.cachedStatement(
                    sql: """
                        UPDATE outboxMessage SET status = 'leased', leaseExpiresAt = :until, leaseHolder = :holder
                        WHERE id IN (
                            SELECT id FROM outboxMessage
                            WHERE status = 'queued' AND dueAt <= :now
                              AND (campaignId IS NULL OR kind = 'test'
                                   OR campaignId IN (SELECT id FROM campaign WHERE status = 'sending'))
                            ORDER BY dueAt, id LIMIT :limit)
                        OR id IN (
                            SELECT id FROM outboxMessage WHERE status = 'leased' AND leaseExpiresAt <= :now LIMIT :limit)
                        RETURNING id
                        """
                ),
                arguments: [
                    "until": StoreTime.value(now.addingTimeInterval(leaseFor)), "now": StoreTime.value(now), "limit": limit,
                    "holder": holder.description,
                ]
            )
        }
        return try writer.read { db in try Self.deliveries(db, ids: ids) }
    }

    /// The outbox rows with these ids, each with its recipient, list,
    /// subscription and campaign, in id order: one query for the rows and their
    /// subscriptions, one per campaign. A row whose subscription is gone is left out.
    static func deliveries(_ db: Database, ids: [Int64]) throws -> [OutboxDelivery] {
        guard !ids.isEmpty else { return [] }
        // Columns by position, read from the cursor's row in place: a batch is
        // read for every 32 messages sent, and names, adapters and row copies
        // were most of its cost.
        let rows = try Row.fetchCursor(
            try db.cachedStatement(
                sql: """
                    SELECT \(OutboxMessage.selection), \(Subscription.selection), subscriber.address,
                           subscriber.restrictedAt IS NOT NULL
                    FROM outboxMessage
                    LEFT JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                    LEFT JOIN subscriber ON subscriber.id = subscription.subscriberId
                    WHERE outboxMessage.id IN (\(databaseQuestionMarks(count: ids.count)))
                    ORDER BY outboxMessage.id
                    """
            ),
            arguments: StatementArguments(ids)
        )
        let subscriptionColumn = OutboxMessage.columns.count
        let addressColumn = subscriptionColumn + Subscription.columns.count
        // A batch has a campaign or two and a list or two: each is read once.
        var campaigns: [Int64: Campaign] = [:]
        var lists: [Int64: MailingList] = [:]
        func list(_ id: Int64) throws -> MailingList {
            if let list = lists[id] { return list }
            let list = try MailingList.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM mailingList WHERE id = ?"),
                arguments: [id]
            ).orThrow()
            lists[id] = list
            return list
        }
        var deliveries: [OutboxDelivery] = []
        deliveries.reserveCapacity(ids.count)
        while let row = try rows.next() {
            let message = try OutboxMessage(row: row, at: 0)
            var campaign: Campaign?
            if let campaignId = message.campaignId {
                // Through a cached statement: the query interface builds and prepares its SQL every time.
                campaign =
                    try campaigns[campaignId]
                    ?? Campaign.fetchOne(
                        try db.cachedStatement(sql: "SELECT * FROM campaign WHERE id = ?"),
                        arguments: [campaignId]
                    )
                campaigns[campaignId] = campaign
            }
            if message.subscriptionId != nil {
                // The subscription went (erasure deletes nothing, but be safe): nothing to send.
                guard !row.hasNull(atIndex: subscriptionColumn) else { continue }
                let subscription = try Subscription(row: row, at: subscriptionColumn)
                deliveries.append(
                    OutboxDelivery(
                        message: message,
                        address: row[addressColumn],
                        list: try list(subscription.listId),
                        subscription: subscription,
                        campaign: campaign,
                        restricted: row[addressColumn + 1]
                    )
                )
            } else if let campaign, let recipient = message.testRecipient {
                deliveries.append(
                    OutboxDelivery(
                        message: message,
                        address: recipient,
                        list: try list(campaign.listId),
                        subscription: nil,
                        campaign: campaign
                    )
                )
            }
        }
        let confirmations = deliveries.compactMap { $0.message.kind == .confirmation ? $0.subscription?.id : nil }
        if !confirmations.isEmpty {
            var others: [Int64: [String]] = [:]
            for row in try Row.fetchAll(
                try db.cachedStatement(sql: ConfirmationMail.siblingsQuery(ids: databaseQuestionMarks(count: confirmations.count))),
                arguments: StatementArguments(confirmations)
            ) {
                others[row[0], default: []].append(row[1])
            }
            for index in deliveries.indices where deliveries[index].message.kind == .confirmation {
                deliveries[index].otherLists = deliveries[index].subscription?.id.flatMap { others[$0] } ?? []
            }
        }
        for index in deliveries.indices where [.address, .addressNotice].contains(deliveries[index].message.kind) {
            let person = deliveries[index].subscription?.subscriberId
            let change = try person.flatMap { deliveries[index].message.kind == .address ? try addressChange(db, subscriberId: $0) : nil }
            deliveries[index].address(for: change)
        }
        var changes: [Int64: TermsChange] = [:]
        for index in deliveries.indices {
            guard let changeId = deliveries[index].message.termsChangeId, let subscriptionId = deliveries[index].subscription?.id else { continue }
            if changes[changeId] == nil { changes[changeId] = try Self.termsChange(db, id: changeId) }
            deliveries[index].termsChange = changes[changeId]
            guard let change = changes[changeId], change.kind == .reconsent else { continue }
            deliveries[index].reconsentAccepted =
                try Bool.fetchOne(
                    try db.cachedStatement(sql: OutboxDelivery.acceptedQuery("?1", "?2")),
                    arguments: [subscriptionId, change.termsVersionId]
                ) ?? false
        }
        for index in deliveries.indices where deliveries[index].message.kind == .welcome {
            guard let id = deliveries[index].subscription?.id else { continue }
            let rows = try Row.fetchAll(try db.cachedStatement(sql: WelcomeReceipt.query(parameter: "?1")), arguments: [id])
            deliveries[index].receipt = rows.first.map { first in
                WelcomeReceipt(
                    confirmedAt: first[4],
                    entries: rows.map { WelcomeReceipt.Entry(subscriptionId: $0[0], listSlug: $0[1], listName: $0[2], termsVersion: $0[3]) }
                )
            }
        }
        return deliveries
    }

    public func recordDelivery(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) throws {
        try groupCommit.writeAndWait(.processCrash) { db in
            _ = try Self.record(db, DeliveryRecord.Entry(id: id, record: record, at: now), heldBy: nil, bounceLimit: bounceLimit)
        }
    }

    /// Records a session's deliveries in one transaction, each only while its
    /// message is still leased by `holder`: a record already applied (a journal
    /// replayed twice) or a claim that ran out and went to another holder is
    /// left alone. Returns how many were applied.
    public func recordDeliveries(_ entries: [DeliveryRecord.Entry], heldBy holder: LeaseHolder, bounceLimit: Int) throws -> Int {
        guard !entries.isEmpty else { return 0 }
        return try groupCommit.writeAndWait(.processCrash) { db in
            try entries.reduce(0) { applied, entry in
                applied + (try Self.record(db, entry, heldBy: holder.description, bounceLimit: bounceLimit) ? 1 : 0)
            }
        }
    }

    /// One record and its `BouncePolicy` effect; false when `holder` is given
    /// and no longer holds the message's lease.
    private static func record(_ db: Database, _ entry: DeliveryRecord.Entry, heldBy holder: String?, bounceLimit: Int) throws -> Bool {
        let (id, now) = (entry.id, entry.at)
        let (status, outcome, dueAt): (OutboxMessage.Status, SendOutcome, Date?) =
            switch entry.record {
            case .sent(let outcome): (.sent, outcome, nil)
            case .retry(let outcome, let at): (.queued, outcome, at)
            case .failed(let outcome): (.failed, outcome, nil)
            case .skipped(let reason): (.skipped, SendOutcome(kind: .permanent, code: nil, reply: reason), nil)
            }
        guard
            let updated = try update(
                db,
                id,
                status: status,
                outcome: outcome,
                dueAt: dueAt,
                sentAt: status == .sent ? now : nil,
                countsAttempt: status != .skipped,
                holder: holder
            )
        else { return false }
        // The audit log keeps a send that concerns one person's subscription
        // (a confirmation, a privacy link) for good; a newsletter is proven by
        // its campaign's events and totals, not by a row per message, which
        // would grow the log by a row per subscriber per issue.
        if status == .sent, ["confirmation", "privacy"].contains(updated["kind"] as String) {
            try db.cachedStatement(
                sql: """
                    INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                    SELECT :now, 'worker', outboxMessage.kind || '.sent', subscription.subscriberId, subscription.listId,
                           outboxMessage.kind || ' #' || outboxMessage.id
                    FROM outboxMessage LEFT JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                    WHERE outboxMessage.id = :id
                    """
            ).execute(arguments: ["now": StoreTime.value(now), "id": id])
        }
        _ = try apply(
            BouncePolicy.effect(of: entry.record),
            subscriptionId: updated["subscriptionId"],
            limit: bounceLimit,
            now: now,
            actor: "worker",
            db
        )
        return true
    }

    public func releaseLeases(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE outboxMessage SET status = 'queued', leaseExpiresAt = NULL, leaseHolder = NULL
                    WHERE status = 'leased' AND id IN (\(databaseQuestionMarks(count: ids.count)))
                    """,
                arguments: StatementArguments(ids)
            )
        }
    }

    public func leaseHolders() throws -> [LeaseClaim] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT leaseHolder, count(*) AS messages FROM outboxMessage
                    WHERE status = 'leased' AND leaseHolder IS NOT NULL GROUP BY leaseHolder
                    """
            ).map { LeaseClaim(holder: $0["leaseHolder"], messages: $0["messages"]) }
        }
    }

    public func releaseLeases(heldBy holder: String) throws -> Int {
        try writer.write { db in
            try db.execute(
                sql: """
                    UPDATE outboxMessage SET status = 'queued', leaseExpiresAt = NULL, leaseHolder = NULL
                    WHERE status = 'leased' AND leaseHolder = ?
                    """,
                arguments: [holder]
            )
            return db.changesCount
        }
    }

    /// The message's new state; its kind and subscription, or nil when
    /// `holder` is given and does not hold its lease. (No `RETURNING`, which
    /// SQLite buffers in a temporary table of its own: a lookup by id after
    /// the update says the same.)
    private static func update(
        _ db: Database,
        _ id: Int64,
        status: OutboxMessage.Status,
        outcome: SendOutcome,
        dueAt: Date?,
        sentAt: Date?,
        countsAttempt: Bool,
        holder: String?
    ) throws -> Row? {
        try db.cachedStatement(
            sql: """
                UPDATE outboxMessage
                SET status = ?1, leaseExpiresAt = NULL, leaseHolder = NULL, lastReply = ?2, lastReplyCode = ?3,
                    dueAt = coalesce(?4, dueAt), sentAt = ?5, attempts = attempts + ?6
                WHERE id = ?7 AND (?8 IS NULL OR (status = 'leased' AND leaseHolder = ?8))
                """
        ).execute(arguments: [
            status.rawValue, String(outcome.reply.prefix(512)), outcome.code, dueAt.map(StoreTime.value),
            sentAt.map(StoreTime.value), countsAttempt ? 1 : 0, id, holder,
        ])
        guard db.changesCount == 1 else { return nil }
        return try Row.fetchOne(
            try db.cachedStatement(sql: "SELECT kind, subscriptionId FROM outboxMessage WHERE id = ?"),
            arguments: [id]
        )
    }

    /// Applies a `BouncePolicy` effect to a subscription as `BouncePolicy.step`
    /// decides, and says what it changed: a delivery resets the count of
    /// permanent failures in a row; a failure adds one and bounces an active or
    /// pending subscription at `limit` (a hard one at once); a complaint
    /// unsubscribes it. Audited as `actor`.
    static func apply(
        _ effect: BouncePolicy.Effect,
        subscriptionId: Int64?,
        limit: Int,
        now: Date,
        actor: String,
        _ db: Database
    ) throws -> BounceEvent.Outcome {
        guard let subscriptionId else { return .unchanged }
        switch effect {
        case .none: return .unchanged
        case .resetsCount:
            // Most deliveries find the count at 0 already: then nothing is written.
            try db.cachedStatement(sql: "UPDATE subscription SET refusalStreak = 0 WHERE refusalStreak != 0 AND id = ?")
                .execute(arguments: [subscriptionId])
            return .unchanged
        case .countsTowardsBounce, .bouncesNow: break
        case .unsubscribes: return try unsubscribeOnComplaint(subscriptionId, now: now, actor: actor, db)
        }
        let counted = try Row.fetchOne(
            try db.cachedStatement(
                sql: """
                    UPDATE subscription SET refusalStreak = refusalStreak + 1 WHERE id = ?
                    RETURNING id, subscriberId, listId, status, refusalStreak
                    """
            ),
            arguments: [subscriptionId]
        )
        guard let counted else { return .unchanged }
        let ongoing = ["pending", "active"].contains(counted["status"] as String)
        let step = BouncePolicy.step(effect, ongoing: ongoing, streak: counted["refusalStreak"] as Int - 1, limit: limit)
        guard case .bounce(let reason) = step else { return ongoing ? .counted : .unchanged }
        try db.execute(
            sql: "UPDATE subscription SET status = 'bounced', endedAt = :now, updatedAt = :now WHERE id = :id",
            arguments: ["now": StoreTime.value(now), "id": subscriptionId]
        )
        var audit = AuditEvent(
            occurredAt: now,
            actor: actor,
            action: "subscription.bounced",
            subscriberId: counted["subscriberId"],
            listId: counted["listId"],
            detail: reason
        )
        try audit.insert(db)
        return .bounced
    }

    /// A complaint ends an active or pending subscription, as an unsubscribe
    /// would, with a `withdrawn` consent entry of source `complaint`.
    private static func unsubscribeOnComplaint(_ id: Int64, now: Date, actor: String, _ db: Database) throws -> BounceEvent.Outcome {
        guard
            let ended = try Row.fetchOne(
                db,
                sql: """
                    UPDATE subscription SET status = 'unsubscribed', endedAt = :now, updatedAt = :now
                    WHERE id = :id AND status IN ('pending', 'active') RETURNING subscriberId, listId
                    """,
                arguments: ["now": StoreTime.value(now), "id": id]
            )
        else { return .unchanged }
        var consent = ConsentEvent(subscriptionId: id, kind: .withdrawn, occurredAt: now, source: "complaint")
        try consent.insert(db)
        var audit = AuditEvent(
            occurredAt: now,
            actor: actor,
            action: "subscription.withdrawn",
            subscriberId: ended["subscriberId"],
            listId: ended["listId"],
            detail: "complaint"
        )
        try audit.insert(db)
        return .unsubscribed
    }
}
