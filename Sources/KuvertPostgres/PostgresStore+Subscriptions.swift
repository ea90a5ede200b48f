import Foundation
import KuvertCore
import PostgresNIO

// Each request is its own transaction. PostgreSQL's commit waits for its WAL
// record to be flushed (`synchronous_commit = on`, the default), and commits
// that arrive together share one flush: the server's own group commit keeps
// "on disk before the answer" as SQLite's `GroupCommit` does.
extension PostgresStore: SubscriptionStore {
    public func subscribe(_ request: SubscriptionRequest, resendWindow: TimeInterval, now: Date) async throws -> IntakeOutcome {
        let dueAt = request.confirmationDueAt ?? now
        let nonce = RandomHex.make()
        return try await transaction { c in
            // Finding the list and inserting or finding the person, which locks
            // their row until the transaction ends: two nodes taking the same
            // address at once go one after the other. An unknown list throws
            // below, and the transaction takes the person's row back with it.
            let slug = request.listSlug
            guard let person = try await c.rows(
                """
                WITH l AS (
                    SELECT id, language FROM mailingList WHERE \(slug)::text IS NULL OR slug = \(slug) ORDER BY id LIMIT 1
                ), p AS (
                    INSERT INTO subscriber (address, addressKey, createdAt)
                    VALUES (\(request.address.value), \(request.address.key), \(now))
                    ON CONFLICT (addressKey) DO UPDATE SET addressKey = EXCLUDED.addressKey RETURNING id
                )
                SELECT l.id AS list, l.language AS listLanguage, p.id AS subscriber FROM l CROSS JOIN p
                """
            ).first else { throw request.listSlug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList }
            // Read after the lock, in a statement of its own: its snapshot sees
            // what a request that held the lock before committed.
            let listId = try person["list"].decode(Int64.self)
            let subscriberId = try person["subscriber"].decode(Int64.self)
            let found = try await c.rows(
                """
                SELECT s.status, s.requestedAt, s.language,
                       EXISTS (SELECT 1 FROM outboxMessage m WHERE m.subscriptionId = s.id AND m.kind = 'confirmation'
                               AND m.status IN ('queued', 'leased', 'sent')) AS underway
                FROM subscription s WHERE s.subscriberId = \(subscriberId) AND s.listId = \(listId)
                """
            ).first
            let status = try found.flatMap { SubscriptionStatus(rawValue: try $0["status"].decode(String.self)) }
            let stored = try found.flatMap { Language(rawValue: try $0["language"].decode(String.self)) }
            let listLanguage = Language(rawValue: try person["listlanguage"].decode(String.self)) ?? .en
            let language = (request.language ?? stored ?? listLanguage).rawValue
            let audit = { (action: String, detail: String?) in
                try await c.run(
                    """
                    INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                    VALUES (\(now), \(request.actor), \(action), \(subscriberId), \(listId), \(detail))
                    """)
            }

            switch status {
            case .active:
                try await audit("subscription.repeated", "active")
                return .alreadyActive
            case .pending:
                let pending = try found.orThrow()
                if now.timeIntervalSince(try pending["requestedat"].decode(Date.self)) < resendWindow,
                   try pending["underway"].decode(Bool.self) {
                    // A confirmation is on its way or went: nothing more within the window.
                    try await audit("subscription.repeated", "pending")
                    return .alreadyPending
                }
            case .unsubscribed, .bounced, nil:
                break
            }
            // One statement: the subscription (new; pending again after the resend
            // window with the same link; or a new double opt-in after it ended, whose
            // new nonce retires links from before), the ledger's entry, the
            // confirmation mail and the audit entry.
            let query: PostgresQuery = """
                WITH sub AS (
                    INSERT INTO subscription (subscriberId, listId, status, name, language, confirmNonce, requestedAt, updatedAt)
                    VALUES (\(subscriberId), \(listId), 'pending', \(request.name), \(language), \(nonce), \(now), \(now))
                    ON CONFLICT (subscriberId, listId) DO UPDATE SET
                        confirmNonce = CASE WHEN subscription.status = 'pending' THEN subscription.confirmNonce
                                            ELSE EXCLUDED.confirmNonce END,
                        status = 'pending', requestedAt = EXCLUDED.requestedAt, confirmedAt = NULL, endedAt = NULL,
                        name = EXCLUDED.name, language = EXCLUDED.language, updatedAt = EXCLUDED.updatedAt
                    RETURNING id
                ), consent AS (
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source)
                    SELECT id, 'requested', \(now), \(request.origin.ip), \(request.origin.userAgent), \(request.origin.source) FROM sub
                ), mail AS (
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                    SELECT 'confirmation', id, 'queued', \(dueAt), 0, \(now) FROM sub
                ), audit AS (
                    INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                    VALUES (\(now), \(request.actor), 'subscription.requested', \(subscriberId), \(listId), \(request.origin.source))
                )
                SELECT id FROM sub
                """
            let subscriptionId = try await c.value(query, as: Int64.self).orThrow()
            return .confirmationQueued(subscriptionId: subscriptionId)
        }
    }

    public func confirmationContext(subscriptionId: Int64) async throws -> ConfirmationContext? {
        try await connection { c in try await Self.confirmationContext(c, subscriptionId: subscriptionId, locking: false) }
    }

    public func confirm(_ acceptance: TermsAcceptance, now: Date) async throws -> ConfirmOutcome {
        try await transaction { c in
            guard var context = try await Self.confirmationContext(c, subscriptionId: acceptance.subscriptionId, locking: true),
                  context.subscription.confirmNonce == acceptance.nonce
            else { return .superseded }
            switch context.subscription.status {
            case .active: return .alreadyActive(context)
            case .unsubscribed, .bounced: return .ended
            case .pending: break
            }
            guard now.timeIntervalSince(context.subscription.requestedAt) < acceptance.confirmWindow else { return .expired }
            if let shown = acceptance.termsVersion, shown != context.terms.version { return .termsChanged(context) }
            context.subscription.status = .active
            context.subscription.confirmedAt = now
            context.subscription.updatedAt = now
            let origin = acceptance.origin
            try await c.run(
                """
                WITH activated AS (
                    UPDATE subscription SET status = 'active', confirmedAt = \(now), updatedAt = \(now)
                    WHERE id = \(acceptance.subscriptionId)
                ), consent AS (
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source, termsVersionId, termsSHA256)
                    VALUES (\(acceptance.subscriptionId), 'confirmed', \(now), \(origin.ip), \(origin.userAgent), \(origin.source),
                            \(context.terms.id), \(context.terms.sha256))
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(now), 'web', 'subscription.confirmed', \(context.subscription.subscriberId), \(context.list.id),
                        \("terms v\(context.terms.version)"))
                """)
            return .confirmed(context)
        }
    }

    public func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> (Subscription, MailingList)? {
        let result = try await transaction { c -> Ended? in
            guard let row = try await c.rows(
                """
                SELECT \(unescaped: Subscription.select("s")), \(unescaped: MailingList.select("l"))
                FROM subscription s JOIN mailingList l ON l.id = s.listId WHERE s.id = \(subscriptionId) FOR UPDATE OF s
                """
            ).first else { return nil }
            var subscription = try Subscription(row, "s")
            let list = try MailingList(row, "l")
            guard subscription.status == .active || subscription.status == .pending else { return Ended(subscription, list) }
            subscription.status = .unsubscribed
            subscription.endedAt = now
            subscription.updatedAt = now
            try await c.run(
                """
                WITH ended AS (
                    UPDATE subscription SET status = 'unsubscribed', endedAt = \(now), updatedAt = \(now) WHERE id = \(subscriptionId)
                ), consent AS (
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source)
                    VALUES (\(subscriptionId), 'withdrawn', \(now), \(origin.ip), \(origin.userAgent), \(origin.source))
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(now), 'web', 'subscription.withdrawn', \(subscription.subscriberId), \(list.id), \(origin.source))
                """)
            return Ended(subscription, list)
        }
        return result.map { ($0.subscription, $0.list) }
    }

    public func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord? {
        try await connection { c in
            guard let subscriber = try await Self.subscriber(c, address), let subscriberId = subscriber.id else { return nil }
            let subscriptions = try await Self.subscriptionsWithLists(c, subscriberId: subscriberId)
            var consent: [Int64: [ConsentEvent]] = [:]
            var versions: [Int64: Int] = [:]
            for row in try await Self.consentRows(c, subscriberId: subscriberId) {
                let event = try ConsentEvent(row, "e")
                consent[event.subscriptionId, default: []].append(event)
                if let id = event.termsVersionId, let number = try row["termsversion"].decode(Int?.self) { versions[id] = number }
            }
            let bounces = try await Self.bounces(c, subscriberId: subscriberId)
            return SubscriberRecord(subscriber: subscriber, subscriptions: subscriptions.map { subscription, list in
                let events = consent[subscription.id ?? -1] ?? []
                return SubscriberRecord.ListSubscription(
                    subscription: subscription, list: list, consent: events,
                    termsVersions: versions.filter { id, _ in events.contains { $0.termsVersionId == id } },
                    bounces: bounces[subscription.id ?? -1] ?? [])
            })
        }
    }

    public func subscriptions(listSlug: String?, status: SubscriptionStatus?) async throws -> [SubscriptionListing] {
        try await connection { c in
            if let listSlug { _ = try await Self.listKey(c, slug: listSlug) }
            return try await c.rows(
                """
                SELECT p.address, l.slug, s.status, s.requestedAt, s.confirmedAt
                FROM subscription s JOIN subscriber p ON p.id = s.subscriberId JOIN mailingList l ON l.id = s.listId
                WHERE (\(listSlug)::text IS NULL OR l.slug = \(listSlug)) AND (\(status?.rawValue)::text IS NULL OR s.status = \(status?.rawValue))
                ORDER BY s.id
                """
            ).map { row in
                SubscriptionListing(
                    address: try row["address"].decode(String.self), listSlug: try row["slug"].decode(String.self),
                    status: SubscriptionStatus(rawValue: try row["status"].decode(String.self)) ?? .pending,
                    requestedAt: try row["requestedat"].decode(Date.self), confirmedAt: try row["confirmedat"].decode(Date?.self))
            }
        }
    }

    // MARK: Helpers inside a transaction

    /// A subscription and its list, sendable out of a transaction.
    struct Ended: Sendable {
        var subscription: Subscription
        var list: MailingList
        init(_ subscription: Subscription, _ list: MailingList) {
            self.subscription = subscription
            self.list = list
        }
    }

    /// A list's id and default language by slug (the default list for nil).
    static func listKey(_ c: PostgresConnection, slug: String?) async throws -> (Int64, Language) {
        let rows = try await c.rows(
            slug.map { "SELECT id, language FROM mailingList WHERE slug = \($0)" }
                ?? "SELECT id, language FROM mailingList ORDER BY id LIMIT 1")
        guard let row = rows.first else { throw slug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList }
        return (try row["id"].decode(Int64.self), Language(rawValue: try row["language"].decode(String.self)) ?? .en)
    }

    /// The subscription, its list and the list's current terms; with `locking`,
    /// the subscription's row stays locked until the transaction ends.
    static func confirmationContext(_ c: PostgresConnection, subscriptionId: Int64, locking: Bool) async throws -> ConfirmationContext? {
        guard let row = try await c.rows(
            """
            SELECT \(unescaped: Subscription.select("s")), \(unescaped: MailingList.select("l")), \(unescaped: TermsVersion.select("t"))
            FROM subscription s JOIN mailingList l ON l.id = s.listId
            JOIN LATERAL (SELECT * FROM termsVersion WHERE listId = s.listId ORDER BY version DESC LIMIT 1) t ON true
            WHERE s.id = \(subscriptionId) \(unescaped: locking ? "FOR UPDATE OF s" : "")
            """
        ).first else { return nil }
        return ConfirmationContext(subscription: try Subscription(row, "s"), list: try MailingList(row, "l"), terms: try TermsVersion(row, "t"))
    }

    /// The person with this address, erased or not.
    static func subscriber(_ c: PostgresConnection, _ address: EmailAddress) async throws -> Subscriber? {
        try await c.rows("SELECT \(unescaped: Subscriber.select("p")) FROM subscriber p WHERE p.addressKey = \(address.key)")
            .first.map { try Subscriber($0, "p") }
    }

    /// A subscriber's subscriptions with their lists, oldest first.
    static func subscriptionsWithLists(_ c: PostgresConnection, subscriberId: Int64) async throws -> [(Subscription, MailingList)] {
        try await c.rows(
            """
            SELECT \(unescaped: Subscription.select("s")), \(unescaped: MailingList.select("l"))
            FROM subscription s JOIN mailingList l ON l.id = s.listId WHERE s.subscriberId = \(subscriberId) ORDER BY s.id
            """
        ).map { (try Subscription($0, "s"), try MailingList($0, "l")) }
    }

    /// Every consent entry of a subscriber, oldest first, each with the number
    /// of the terms version it names (column `termsversion`).
    static func consentRows(_ c: PostgresConnection, subscriberId: Int64) async throws -> [PostgresRandomAccessRow] {
        try await c.rows(
            """
            SELECT \(unescaped: ConsentEvent.select("e")), t.version AS termsVersion FROM consentEvent e
            JOIN subscription s ON s.id = e.subscriptionId LEFT JOIN termsVersion t ON t.id = e.termsVersionId
            WHERE s.subscriberId = \(subscriberId) ORDER BY e.id
            """)
    }
}

extension Optional {
    /// The value the schema guarantees, or an error saying the store is damaged.
    func orThrow() throws -> Wrapped {
        guard let self else { throw StoredValueError(column: "a required column", value: "nothing") }
        return self
    }
}
