import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: PrivacyStore {
    public func export(_ address: EmailAddress, now: Date) async throws -> SubscriberExport? {
        try await writer.read { db in
            guard let subscriber = try Subscriber.filter(Column("addressKey") == address.key).fetchOne(db),
                let subscriberId = subscriber.id
            else { return nil }
            // Three queries for the whole person: subscriptions with lists, every
            // consent entry, every message; grouped by subscription here.
            let subscriptions = try Self.subscriptionsWithLists(db, subscriberId: subscriberId)
            let consent = Dictionary(grouping: try Self.consentRows(db, subscriberId: subscriberId)) { row -> Int64 in
                row["subscriptionId"]
            }.mapValues { rows in
                rows.map { row in
                    SubscriberExport.Consent(
                        kind: row["kind"],
                        at: row["occurredAt"],
                        source: row["source"],
                        ip: row["ip"],
                        userAgent: row["userAgent"],
                        termsVersion: row["termsVersion"],
                        termsSHA256: row["termsSHA256"]
                    )
                }
            }
            let messages = Dictionary(
                grouping: try Row.fetchAll(
                    db,
                    sql: """
                        SELECT outboxMessage.subscriptionId, outboxMessage.kind, outboxMessage.status, outboxMessage.createdAt,
                               outboxMessage.sentAt, campaign.subject
                        FROM outboxMessage
                        JOIN subscription ON subscription.id = outboxMessage.subscriptionId
                        LEFT JOIN campaign ON campaign.id = outboxMessage.campaignId
                        WHERE subscription.subscriberId = ? ORDER BY outboxMessage.id
                        """,
                    arguments: [subscriberId]
                )
            ) { row -> Int64 in row["subscriptionId"] }.mapValues { rows in
                rows.map { row in
                    SubscriberExport.Message(
                        kind: row["kind"],
                        subject: row["subject"],
                        status: row["status"],
                        queuedAt: row["createdAt"],
                        sentAt: row["sentAt"]
                    )
                }
            }
            var export = SubscriberExport(
                subscriber: subscriber,
                subscriptions: subscriptions.map(SubscriptionAndList.init),
                consent: consent,
                messages: messages,
                bounces: try Self.bounces(db, subscriberId: subscriberId),
                auditEvents: try AuditEvent.filter(Column("subscriberId") == subscriberId).order(Column("id")).fetchAll(db),
                exportedAt: now
            )
            export.termsAccepted = try Row.fetchAll(
                db,
                sql: SubscriberExport.AcceptedTerms.query(subscriber: "?"),
                arguments: [subscriberId]
            ).map { row in
                SubscriberExport.AcceptedTerms(list: row[0], version: row[1], sha256: row[2], text: row[3] ?? "")
            }
            return export
        }
    }

    public func erase(_ address: EmailAddress, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        try await erase(where: Column("addressKey") == address.key, suppressionHash: suppressionHash, actor: actor, now: now)
    }

    public func erase(subscriberId: Int64, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        try await erase(subscribers: [Erasure(id: subscriberId, suppressionHash: suppressionHash)], actor: actor, now: now) == 1
    }

    /// Many people, each in a transaction of its own, then one checkpoint for
    /// all (retention: one WAL sync and truncation a purge, not one a person).
    public func erase(subscribers people: [Erasure], actor: String, now: Date) async throws -> Int {
        var erased = 0
        for person in people
        where try await eraseRows(
            where: Column("id") == person.id && Column("erasedAt") == nil,
            suppressionHash: person.suppressionHash,
            actor: actor,
            now: now
        ) {
            erased += 1
        }
        if erased > 0 { try await forgetWAL() }
        return erased
    }

    private func erase(where condition: SQLExpression, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        let erased = try await eraseRows(where: condition, suppressionHash: suppressionHash, actor: actor, now: now)
        if erased { try await forgetWAL() }
        return erased
    }

    /// Writes the changed pages into the file and empties the WAL, so erased
    /// rows survive in neither.
    private func forgetWAL() async throws {
        try await writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    private func eraseRows(where condition: SQLExpression, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        try await writer.write { db -> Bool in
            guard let subscriber = try Subscriber.filter(condition).fetchOne(db), let id = subscriber.id else { return false }
            let mine = "SELECT id FROM subscription WHERE subscriberId = :id"
            try db.execute(
                sql: """
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source)
                    SELECT id, 'withdrawn', :now, 'erasure' FROM subscription
                    WHERE subscriberId = :id AND status IN ('pending', 'active');
                    UPDATE subscription SET name = NULL, updatedAt = :now,
                        status = CASE WHEN status IN ('pending', 'active') THEN 'unsubscribed' ELSE status END,
                        endedAt = coalesce(endedAt, :now)
                    WHERE subscriberId = :id;
                    UPDATE consentEvent SET ip = NULL, userAgent = NULL WHERE subscriptionId IN (\(mine));
                    UPDATE outboxMessage SET lastReply = NULL WHERE subscriptionId IN (\(mine));
                    UPDATE bounceEvent SET diagnostic = NULL WHERE subscriptionId IN (\(mine));
                    UPDATE outboxMessage SET status = 'skipped', leaseExpiresAt = NULL
                    WHERE subscriptionId IN (\(mine)) AND status IN ('queued', 'leased');
                    UPDATE outboxMessage SET testRecipient = NULL, lastReply = NULL,
                        status = CASE WHEN status IN ('queued', 'leased') THEN 'skipped' ELSE status END
                    WHERE lower(testRecipient) = lower(:address);
                    UPDATE outboxMessage SET testRecipient = NULL WHERE subscriptionId IN (\(mine));
                    UPDATE subscriber SET address = '', addressKey = 'erased:' || id, erasedAt = :now, restrictionReason = NULL,
                        newAddress = NULL, newAddressKey = NULL, newAddressNonce = NULL, newAddressRequestedAt = NULL
                    WHERE id = :id;
                    INSERT OR IGNORE INTO suppression (keyHash, createdAt) VALUES (:hash, :now);
                    """,
                arguments: ["id": id, "now": StoreTime.value(now), "address": subscriber.address, "hash": suppressionHash]
            )
            var audit = AuditEvent(occurredAt: now, actor: actor, action: "subscriber.erased", subscriberId: id)
            try audit.insert(db)
            return true
        }
    }

    public func isSuppressed(_ suppressionHash: String) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM suppression WHERE keyHash = ?)", arguments: [suppressionHash]) ?? false
        }
    }

    public func backup(to path: String) throws {
        let copy = try DatabaseQueue(path: path)
        try writer.backup(to: copy)
    }

    public func recordAudit(_ event: AuditEvent, address: EmailAddress?) async throws -> AuditEvent {
        try await writer.write { db in
            var event = event
            if let address {
                event.subscriberId = try Int64.fetchOne(db, sql: "SELECT id FROM subscriber WHERE addressKey = ?", arguments: [address.key])
            }
            try event.insert(db)
            return event
        }
    }

    public func auditEvents(address: EmailAddress?, limit: Int) async throws -> [AuditEvent] {
        try await writer.read { db in
            var request = AuditEvent.order(Column("id").desc).limit(limit)
            if let address {
                let id = try Int64.fetchOne(db, sql: "SELECT id FROM subscriber WHERE addressKey = ?", arguments: [address.key])
                guard let id else { return [] }
                request = request.filter(Column("subscriberId") == id)
            }
            return try request.fetchAll(db).reversed()
        }
    }
}
