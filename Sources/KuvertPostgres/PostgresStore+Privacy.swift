import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: PrivacyStore, PrivacyRequestStore {
    public func export(_ address: EmailAddress, now: Date) async throws -> SubscriberExport? {
        try await transaction { c in
            guard let subscriber = try await Self.subscriber(c, address), let subscriberId = subscriber.id else { return nil }
            let subscriptions = try await Self.subscriptionsWithLists(c, subscriberId: subscriberId)
            var consent: [Int64: [SubscriberExport.Consent]] = [:]
            for row in try await Self.consentRows(c, subscriberId: subscriberId) {
                let event = try ConsentEvent(row, "e")
                consent[event.subscriptionId, default: []].append(
                    SubscriberExport.Consent(
                        kind: event.kind.rawValue,
                        at: event.occurredAt,
                        source: event.source,
                        ip: event.ip,
                        userAgent: event.userAgent,
                        termsVersion: try row["termsversion"].decode(Int?.self),
                        termsSHA256: event.termsSHA256
                    )
                )
            }
            var messages: [Int64: [SubscriberExport.Message]] = [:]
            for row in try await c.rows(
                """
                SELECT m.subscriptionId, m.kind, m.status, m.createdAt, m.sentAt, c.subject
                FROM outboxMessage m JOIN subscription s ON s.id = m.subscriptionId
                LEFT JOIN campaign c ON c.id = m.campaignId
                WHERE s.subscriberId = \(subscriberId) ORDER BY m.id
                """
            ) {
                messages[try row["subscriptionid"].decode(Int64.self), default: []].append(
                    SubscriberExport.Message(
                        kind: try row["kind"].decode(String.self),
                        subject: try row["subject"].decode(String?.self),
                        status: try row["status"].decode(String.self),
                        queuedAt: try row["createdat"].decode(Date.self),
                        sentAt: try row["sentat"].decode(Date?.self)
                    )
                )
            }
            let events = try await c.rows(
                "SELECT \(unescaped: AuditEvent.select("a")) FROM auditEvent a WHERE a.subscriberId = \(subscriberId) ORDER BY a.id"
            ).map { try AuditEvent($0, "a") }
            var export = SubscriberExport(
                subscriber: subscriber,
                subscriptions: subscriptions.map(SubscriptionAndList.init),
                consent: consent,
                messages: messages,
                bounces: try await Self.bounces(c, subscriberId: subscriberId),
                auditEvents: events,
                exportedAt: now
            )
            var binds = PostgresBindings()
            binds.append(subscriberId)
            export.termsAccepted = try await c.rows(
                PostgresQuery(unsafeSQL: SubscriberExport.AcceptedTerms.query(subscriber: "$1"), binds: binds)
            ).map { row in
                SubscriberExport.AcceptedTerms(
                    list: try row["slug"].decode(String.self),
                    version: try row["version"].decode(Int.self),
                    sha256: try row["termssha256"].decode(String.self),
                    text: try row["body"].decode(String?.self) ?? ""
                )
            }
            return export
        }
    }

    public func erase(_ address: EmailAddress, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        try await erase(
            find: "SELECT id, address FROM subscriber WHERE addressKey = \(address.key) FOR UPDATE",
            suppressionHash: suppressionHash,
            actor: actor,
            now: now
        )
    }

    public func erase(subscriberId: Int64, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        try await erase(
            find: "SELECT id, address FROM subscriber WHERE id = \(subscriberId) AND erasedAt IS NULL FOR UPDATE",
            suppressionHash: suppressionHash,
            actor: actor,
            now: now
        )
    }

    /// Erases the subscriber `find` locks, in one transaction. The row lock makes
    /// a second node erasing the same person at once find nothing left to do.
    ///
    /// PostgreSQL keeps the old row versions in the table's free space until
    /// VACUUM reuses it, and in the WAL (and its archive, and base backups)
    /// until those are recycled: the README says what an operator does about it.
    private func erase(find: PostgresQuery, suppressionHash: String, actor: String, now: Date) async throws -> Bool {
        try await transaction { c in
            guard let row = try await c.rows(find).first else { return false }
            let id = try row["id"].decode(Int64.self)
            let address = try row["address"].decode(String.self)
            try await c.run(
                """
                INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source)
                SELECT id, 'withdrawn', \(now), 'erasure' FROM subscription
                WHERE subscriberId = \(id) AND status IN ('pending', 'active')
                """
            )
            try await c.run(
                """
                UPDATE subscription SET name = NULL, updatedAt = \(now),
                    status = CASE WHEN status IN ('pending', 'active') THEN 'unsubscribed' ELSE status END,
                    endedAt = coalesce(endedAt, \(now))
                WHERE subscriberId = \(id)
                """
            )
            try await c.run(
                """
                UPDATE consentEvent SET ip = NULL, userAgent = NULL
                WHERE subscriptionId IN (SELECT id FROM subscription WHERE subscriberId = \(id))
                  AND (ip IS NOT NULL OR userAgent IS NOT NULL)
                """
            )
            try await c.run(
                """
                UPDATE outboxMessage SET lastReply = NULL,
                    status = CASE WHEN status IN ('queued', 'leased') THEN 'skipped' ELSE status END,
                    leaseExpiresAt = CASE WHEN status IN ('queued', 'leased') THEN NULL ELSE leaseExpiresAt END,
                    leaseHolder = CASE WHEN status IN ('queued', 'leased') THEN NULL ELSE leaseHolder END
                WHERE subscriptionId IN (SELECT id FROM subscription WHERE subscriberId = \(id))
                """
            )
            // A diagnostic may quote the address.
            try await c.run(
                """
                UPDATE bounceEvent SET diagnostic = NULL
                WHERE subscriptionId IN (SELECT id FROM subscription WHERE subscriberId = \(id))
                """
            )
            try await c.run(
                """
                UPDATE outboxMessage SET testRecipient = NULL, lastReply = NULL,
                    status = CASE WHEN status IN ('queued', 'leased') THEN 'skipped' ELSE status END,
                    leaseExpiresAt = CASE WHEN status IN ('queued', 'leased') THEN NULL ELSE leaseExpiresAt END
                WHERE lower(testRecipient) = lower(\(address))
                """
            )
            try await c.run(
                """
                WITH notices AS (
                    UPDATE outboxMessage SET testRecipient = NULL
                    WHERE subscriptionId IN (SELECT s.id FROM subscription s WHERE s.subscriberId = \(id))
                )
                UPDATE subscriber SET address = '', addressKey = 'erased:' || id, erasedAt = \(now), restrictionReason = NULL,
                    newAddress = NULL, newAddressKey = NULL, newAddressNonce = NULL, newAddressRequestedAt = NULL
                WHERE id = \(id)
                """
            )
            try await c.run(
                """
                WITH suppressed AS (
                    INSERT INTO suppression (keyHash, createdAt) VALUES (\(suppressionHash), \(now)) ON CONFLICT DO NOTHING
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId) VALUES (\(now), \(actor), 'subscriber.erased', \(id))
                """
            )
            return true
        }
    }

    public func isSuppressed(_ suppressionHash: String) async throws -> Bool {
        try await connection { c in
            try await c.value("SELECT EXISTS (SELECT 1 FROM suppression WHERE keyHash = \(suppressionHash))", as: Bool.self) ?? false
        }
    }

    public func backup(to path: String) throws {
        try PostgresBackup(location).run(to: path)
    }

    public func recordAudit(_ event: AuditEvent, address: EmailAddress?) async throws -> AuditEvent {
        try await transaction { c in
            var event = event
            if let address {
                event.subscriberId = try await c.value(
                    "SELECT id FROM subscriber WHERE addressKey = \(address.key)",
                    as: Int64.self
                )
            }
            event.id = try await c.value(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(event.occurredAt), \(event.actor), \(event.action), \(event.subscriberId), \(event.listId), \(event.detail))
                RETURNING id
                """,
                as: Int64.self
            )
            return event
        }
    }

    public func auditEvents(address: EmailAddress?, limit: Int) async throws -> [AuditEvent] {
        try await connection { c in
            let rows: [PostgresRandomAccessRow]
            if let address {
                rows = try await c.rows(
                    """
                    SELECT \(unescaped: AuditEvent.select("a")) FROM auditEvent a JOIN subscriber p ON p.id = a.subscriberId
                    WHERE p.addressKey = \(address.key) ORDER BY a.id DESC LIMIT \(limit)
                    """
                )
            } else {
                rows = try await c.rows(
                    "SELECT \(unescaped: AuditEvent.select("a")) FROM auditEvent a ORDER BY a.id DESC LIMIT \(limit)"
                )
            }
            return try rows.map { try AuditEvent($0, "a") }.reversed()
        }
    }

    public func requestPrivacyLink(_ address: EmailAddress, resendWindow: TimeInterval, now: Date) async throws -> Bool {
        try await transaction { c in
            // The mail belongs to the person; it rides on their newest subscription,
            // which is how the outbox finds the address. Their row stays locked,
            // so two nodes asked at once queue one mail.
            guard
                let row = try await c.rows(
                    """
                    SELECT p.id, (SELECT max(id) FROM subscription WHERE subscriberId = p.id) AS subscription
                    FROM subscriber p WHERE p.addressKey = \(address.key) AND p.erasedAt IS NULL FOR UPDATE
                    """
                ).first, let subscriptionId = try row["subscription"].decode(Int64?.self)
            else { return false }
            let subscriberId = try row["id"].decode(Int64.self)
            let recent =
                try await c.value(
                    """
                    SELECT EXISTS (SELECT 1 FROM outboxMessage m JOIN subscription s ON s.id = m.subscriptionId
                                   WHERE s.subscriberId = \(subscriberId) AND m.kind = 'privacy'
                                     AND m.createdAt > \(now.addingTimeInterval(-resendWindow)))
                    """,
                    as: Bool.self
                ) ?? false
            guard !recent else { return false }
            try await c.run(
                """
                WITH mail AS (
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                    VALUES ('privacy', \(subscriptionId), 'queued', \(now), 0, \(now))
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId)
                VALUES (\(now), 'web', 'privacy.link-requested', \(subscriberId))
                """
            )
            return true
        }
    }

    public func subscriberAddress(id: Int64) async throws -> EmailAddress? {
        try await connection { c in
            try await c.value("SELECT address FROM subscriber WHERE id = \(id) AND erasedAt IS NULL", as: String.self)
        }.flatMap { try? EmailAddress($0) }
    }
}
