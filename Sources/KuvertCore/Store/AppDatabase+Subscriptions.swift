import Foundation
import GRDB

extension AppDatabase: SubscriptionStore {
    public func subscribe(_ request: SubscriptionRequest, resendWindow: TimeInterval, now: Date) async throws -> IntakeOutcome {
        try await writer.write { db in
            let list = try Self.list(db, slug: request.listSlug)
            let listId = try list.id.orThrow()
            let subscriberId = try Self.subscriberId(db, for: request.address, now: now)
            let existing = try Subscription
                .filter(Column("subscriberId") == subscriberId && Column("listId") == listId)
                .fetchOne(db)
            let language = request.language ?? existing?.language ?? list.language

            var subscription: Subscription
            switch existing?.status {
            case .active:
                try Self.audit(db, request, action: "subscription.repeated", subscriberId: subscriberId, listId: listId, now: now, detail: "active")
                return .alreadyActive
            case .pending where now.timeIntervalSince(existing!.requestedAt) < resendWindow:
                try Self.audit(db, request, action: "subscription.repeated", subscriberId: subscriberId, listId: listId, now: now, detail: "pending")
                return .alreadyPending
            case .pending:
                // Asked again after the resend window: a new mail with the same link.
                subscription = existing!
                subscription.requestedAt = now
            case .unsubscribed, .bounced:
                // A new double opt-in; a new nonce retires links from before it ended.
                subscription = existing!
                subscription.status = .pending
                subscription.confirmNonce = Self.newNonce()
                subscription.requestedAt = now
                subscription.confirmedAt = nil
                subscription.endedAt = nil
            case nil:
                subscription = Subscription(
                    subscriberId: subscriberId, listId: listId, status: .pending, name: nil, language: language,
                    confirmNonce: Self.newNonce(), requestedAt: now, updatedAt: now)
            }
            subscription.name = request.name
            subscription.language = language
            subscription.updatedAt = now
            try subscription.save(db)
            let subscriptionId = try subscription.id.orThrow()

            var consent = ConsentEvent(
                subscriptionId: subscriptionId, kind: .requested, occurredAt: now, ip: request.origin.ip,
                userAgent: request.origin.userAgent, source: request.origin.source)
            try consent.insert(db)
            var message = OutboxMessage(
                kind: .confirmation, subscriptionId: subscriptionId, status: .queued,
                dueAt: request.confirmationDueAt ?? now, attempts: 0, createdAt: now)
            try message.insert(db)
            try Self.audit(db, request, action: "subscription.requested", subscriberId: subscriberId, listId: listId, now: now, detail: request.origin.source)
            return .confirmationQueued(subscriptionId: subscriptionId)
        }
    }

    public func confirmationContext(subscriptionId: Int64) async throws -> ConfirmationContext? {
        try await writer.read { db in try Self.confirmationContext(db, subscriptionId: subscriptionId) }
    }

    public func confirm(_ acceptance: TermsAcceptance, now: Date) async throws -> ConfirmOutcome {
        try await writer.write { db in
            guard var context = try Self.confirmationContext(db, subscriptionId: acceptance.subscriptionId),
                  context.subscription.confirmNonce == acceptance.nonce
            else { return .superseded }
            switch context.subscription.status {
            case .active:
                return .alreadyActive(context)
            case .unsubscribed, .bounced:
                return .ended
            case .pending:
                break
            }
            guard now.timeIntervalSince(context.subscription.requestedAt) < acceptance.confirmWindow else {
                return .expired
            }
            if let shown = acceptance.termsVersion, shown != context.terms.version {
                return .termsChanged(context)
            }
            context.subscription.status = .active
            context.subscription.confirmedAt = now
            context.subscription.updatedAt = now
            try context.subscription.update(db)
            var consent = ConsentEvent(
                subscriptionId: acceptance.subscriptionId, kind: .confirmed, occurredAt: now,
                ip: acceptance.origin.ip, userAgent: acceptance.origin.userAgent, source: acceptance.origin.source,
                termsVersionId: context.terms.id, termsSHA256: context.terms.sha256)
            try consent.insert(db)
            var audit = AuditEvent(
                occurredAt: now, actor: "web", action: "subscription.confirmed",
                subscriberId: context.subscription.subscriberId, listId: context.list.id,
                detail: "terms v\(context.terms.version)")
            try audit.insert(db)
            return .confirmed(context)
        }
    }

    public func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> (Subscription, MailingList)? {
        try await writer.write { db in
            guard var subscription = try Subscription.fetchOne(db, key: subscriptionId) else { return nil }
            let list = try MailingList.fetchOne(db, key: subscription.listId).orThrow()
            guard subscription.status == .active || subscription.status == .pending else { return (subscription, list) }
            subscription.status = .unsubscribed
            subscription.endedAt = now
            subscription.updatedAt = now
            try subscription.update(db)
            var consent = ConsentEvent(
                subscriptionId: subscriptionId, kind: .withdrawn, occurredAt: now, ip: origin.ip,
                userAgent: origin.userAgent, source: origin.source)
            try consent.insert(db)
            var audit = AuditEvent(
                occurredAt: now, actor: "web", action: "subscription.withdrawn", subscriberId: subscription.subscriberId,
                listId: list.id, detail: origin.source)
            try audit.insert(db)
            return (subscription, list)
        }
    }

    public func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord? {
        try await writer.read { db in
            guard let subscriber = try Subscriber.filter(Column("addressKey") == address.key).fetchOne(db) else {
                return nil
            }
            let subscriptions = try Subscription.filter(Column("subscriberId") == subscriber.id)
                .order(Column("id")).fetchAll(db)
            let entries = try subscriptions.map { subscription in
                let consent = try ConsentEvent.filter(Column("subscriptionId") == subscription.id)
                    .order(Column("id")).fetchAll(db)
                let versions = try TermsVersion.fetchAll(db, keys: Set(consent.compactMap(\.termsVersionId)))
                return SubscriberRecord.ListSubscription(
                    subscription: subscription,
                    list: try MailingList.fetchOne(db, key: subscription.listId).orThrow(),
                    consent: consent,
                    termsVersions: Dictionary(uniqueKeysWithValues: versions.compactMap { version in
                        version.id.map { ($0, version.version) }
                    }))
            }
            return SubscriberRecord(subscriber: subscriber, subscriptions: entries)
        }
    }

    public func subscriptions(listSlug: String?, status: SubscriptionStatus?) async throws -> [SubscriptionListing] {
        try await writer.read { db in
            var sql = """
                SELECT subscriber.address, mailingList.slug, subscription.status,
                       subscription.requestedAt, subscription.confirmedAt
                FROM subscription
                JOIN subscriber ON subscriber.id = subscription.subscriberId
                JOIN mailingList ON mailingList.id = subscription.listId
                WHERE 1
                """
            var arguments: StatementArguments = []
            if let listSlug {
                _ = try Self.list(db, slug: listSlug)
                sql += " AND mailingList.slug = ?"
                arguments += [listSlug]
            }
            if let status {
                sql += " AND subscription.status = ?"
                arguments += [status.rawValue]
            }
            sql += " ORDER BY subscription.id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                SubscriptionListing(
                    address: row["address"], listSlug: row["slug"],
                    status: SubscriptionStatus(rawValue: row["status"]) ?? .pending,
                    requestedAt: row["requestedAt"], confirmedAt: row["confirmedAt"])
            }
        }
    }

    // MARK: Helpers inside a transaction

    /// The subscriber's id, inserting the subscriber when the address is new.
    private static func subscriberId(_ db: Database, for address: EmailAddress, now: Date) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM subscriber WHERE addressKey = ?", arguments: [address.key]) {
            return id
        }
        var subscriber = Subscriber(address: address.value, addressKey: address.key, createdAt: now)
        try subscriber.insert(db)
        return try subscriber.id.orThrow()
    }

    static func confirmationContext(_ db: Database, subscriptionId: Int64) throws -> ConfirmationContext? {
        guard let subscription = try Subscription.fetchOne(db, key: subscriptionId) else { return nil }
        let list = try MailingList.fetchOne(db, key: subscription.listId).orThrow()
        return ConfirmationContext(
            subscription: subscription, list: list, terms: try currentTerms(db, listId: subscription.listId))
    }

    private static func audit(
        _ db: Database, _ request: SubscriptionRequest, action: String, subscriberId: Int64, listId: Int64,
        now: Date, detail: String?
    ) throws {
        var event = AuditEvent(
            occurredAt: now, actor: request.actor, action: action, subscriberId: subscriberId, listId: listId,
            detail: detail)
        try event.insert(db)
    }

    /// 128 random bits as hex.
    static func newNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }
}
