import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: SubscriptionStore {
    // The intake is the hottest write: it uses cached statements and formats the
    // time once, where the rest of the store uses records.
    public func subscribe(_ request: SubscriptionRequest, resendWindow: TimeInterval, now: Date) async throws -> IntakeOutcome {
        let stamp = StoreTime.value(now)
        let dueAt = request.confirmationDueAt.map(StoreTime.value) ?? stamp
        let nonce = RandomHex.make()
        return try await groupCommit.write { db in
            try Self.intake(db, request, nonce: nonce, stamp: stamp, dueAt: dueAt, resendWindow: resendWindow, now: now)
        }
    }

    public func subscribe(
        _ request: SubscriptionRequest,
        lists slugs: [String],
        resendWindow: TimeInterval,
        now: Date
    ) async throws
        -> IntakeOutcome
    {
        let stamp = StoreTime.value(now)
        let dueAt = request.confirmationDueAt.map(StoreTime.value) ?? stamp
        let nonce = RandomHex.make()
        return try await groupCommit.write { db in
            var outcomes: [IntakeOutcome] = []
            for slug in slugs {
                // Its link already on its way, in its own mail or with the lists asked for beside it.
                let since = StoreTime.value(now.addingTimeInterval(-resendWindow))
                if try Bool.fetchOne(
                    db,
                    sql: ConfirmationMail.groupUnderwayQuery(key: "?1", slug: "?2", since: "?3"),
                    arguments: [request.address.key, slug, since]
                ) == true {
                    outcomes.append(.alreadyPending)
                    continue
                }
                var one = request
                one.listSlug = slug
                outcomes.append(try Self.intake(db, one, nonce: nonce, stamp: stamp, dueAt: dueAt, resendWindow: resendWindow, now: now))
            }
            let queued = outcomes.compactMap(\.queuedSubscription)
            if queued.count > 1 {
                // One link, one mail: the same nonce for all, the first one's mail for all.
                let marks = databaseQuestionMarks(count: queued.count)
                try db.execute(
                    sql: "UPDATE subscription SET confirmNonce = ? WHERE id IN (\(marks))",
                    arguments: StatementArguments([nonce] + queued)
                )
                try db.execute(
                    sql: """
                        UPDATE outboxMessage SET status = 'skipped', lastReply = ?
                        WHERE kind = 'confirmation' AND status = 'queued' AND subscriptionId IN (\(databaseQuestionMarks(count: queued.count - 1)))
                        """,
                    arguments: StatementArguments([ConfirmationMail.sharedReason] + Array(queued.dropFirst()))
                )
            }
            return IntakeOutcome.combined(outcomes)
        }
    }

    /// One list's request, inside the caller's transaction: `subscribe`'s rules.
    private static func intake(
        _ db: Database,
        _ request: SubscriptionRequest,
        nonce: String,
        stamp: DatabaseValue,
        dueAt: DatabaseValue,
        resendWindow: TimeInterval,
        now: Date
    ) throws -> IntakeOutcome {
        let list = try Self.listKey(db, slug: request.listSlug)
        let subscriberId = try Self.subscriberId(db, for: request.address, stamp: stamp)
        let existing = try Row.fetchOne(
            try db.cachedStatement(
                sql: """
                    SELECT id, status, requestedAt, language FROM subscription WHERE subscriberId = ? AND listId = ?
                    """
            ),
            arguments: [subscriberId, list.id]
        )
        let language = (request.language ?? existing.flatMap { Language(rawValue: $0["language"]) } ?? list.language).rawValue
        let status = existing.flatMap { SubscriptionStatus(rawValue: $0["status"]) }
        let audit = { (action: String, detail: String?) in
            try db.cachedStatement(
                sql: """
                    INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail) VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [stamp, request.actor, action, subscriberId, list.id, detail])
        }

        let confirmationUnderway = { (id: Int64) in
            try Bool.fetchOne(
                try db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM outboxMessage
                                       WHERE subscriptionId = ? AND kind = 'confirmation' AND status IN ('queued', 'leased', 'sent'))
                        """
                ),
                arguments: [id]
            ) ?? false
        }
        let repeatedWithinWindow =
            try status == .pending
            && now.timeIntervalSince(existing!["requestedAt"] as Date) < resendWindow
            && confirmationUnderway(existing!["id"])

        let subscriptionId: Int64
        switch status {
        case .active:
            try audit("subscription.repeated", "active")
            return .alreadyActive
        case .pending where repeatedWithinWindow:
            // A confirmation is on its way or went: nothing more within the window.
            // One that failed (retries spent) blocks nothing: the person asks again, a new one goes.
            try audit("subscription.repeated", "pending")
            return .alreadyPending
        case .pending:
            // Asked again after the resend window: a new mail with the same link.
            subscriptionId = existing!["id"]
            try db.cachedStatement(
                sql: """
                    UPDATE subscription SET requestedAt = ?, name = ?, language = ?, updatedAt = ? WHERE id = ?
                    """
            ).execute(arguments: [stamp, request.name, language, stamp, subscriptionId])
        case .unsubscribed, .bounced, .lapsed:
            // A new double opt-in; a new nonce retires links from before it ended.
            subscriptionId = existing!["id"]
            try db.cachedStatement(
                sql: """
                    UPDATE subscription
                    SET status = 'pending', confirmNonce = ?, requestedAt = ?, confirmedAt = NULL, endedAt = NULL,
                        name = ?, language = ?, updatedAt = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [nonce, stamp, request.name, language, stamp, subscriptionId])
        case nil:
            try db.cachedStatement(
                sql: """
                    INSERT INTO subscription (subscriberId, listId, status, name, language, confirmNonce, requestedAt, updatedAt)
                    VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [subscriberId, list.id, request.name, language, nonce, stamp, stamp])
            subscriptionId = db.lastInsertedRowID
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source) VALUES (?, 'requested', ?, ?, ?, ?)
                """
        ).execute(arguments: [subscriptionId, stamp, request.origin.ip, request.origin.userAgent, request.origin.source])
        try db.cachedStatement(
            sql: """
                INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                VALUES ('confirmation', ?, 'queued', ?, 0, ?)
                """
        ).execute(arguments: [subscriptionId, dueAt, stamp])
        try audit("subscription.requested", request.origin.source)
        return .confirmationQueued(subscriptionId: subscriptionId)
    }

    public func confirmationContext(subscriptionId: Int64) async throws -> ConfirmationContext? {
        try await writer.read { db in try Self.confirmationContext(db, subscriptionId: subscriptionId) }
    }

    public func confirmationGroup(subscriptionId: Int64) async throws -> [ConfirmationContext] {
        try await writer.read { db in
            guard let lead = try Subscription.fetchOne(db, key: subscriptionId) else { return [] }
            let ids = try Int64.fetchAll(
                db,
                sql: """
                    SELECT s.id FROM subscription s WHERE s.subscriberId = ? AND s.confirmNonce = ? ORDER BY s.listId
                    """,
                arguments: [lead.subscriberId, lead.confirmNonce]
            )
            return try ids.compactMap { try Self.confirmationContext(db, subscriptionId: $0) }
        }
    }

    public func confirm(_ acceptances: [TermsAcceptance], now: Date) async throws -> [ConfirmOutcome] {
        try await groupCommit.write { db in
            let outcomes = try acceptances.map { try Self.confirm(db, $0, now: now) }
            // One receipt names every list that became active now.
            if let first = outcomes.lazy.compactMap({ outcome -> Int64? in
                if case .confirmed(let context) = outcome { return context.subscription.id }
                return nil
            }).first {
                try Self.queueWelcome(db, subscriptionId: first, now: now)
            }
            return outcomes
        }
    }

    private static func confirm(_ db: Database, _ acceptance: TermsAcceptance, now: Date) throws -> ConfirmOutcome {
        guard var context = try Self.confirmationContext(db, subscriptionId: acceptance.subscriptionId),
            context.subscription.confirmNonce == acceptance.nonce
        else { return .superseded }
        switch context.subscription.status {
        case .active:
            return .alreadyActive(context)
        case .unsubscribed, .bounced, .lapsed:
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
            subscriptionId: acceptance.subscriptionId,
            kind: .confirmed,
            occurredAt: now,
            ip: acceptance.origin.ip,
            userAgent: acceptance.origin.userAgent,
            source: acceptance.origin.source,
            termsVersionId: context.terms.id,
            termsSHA256: context.terms.sha256
        )
        try consent.insert(db)
        var audit = AuditEvent(
            occurredAt: now,
            actor: "web",
            action: "subscription.confirmed",
            subscriberId: context.subscription.subscriberId,
            listId: context.list.id,
            detail: "terms v\(context.terms.version)"
        )
        try audit.insert(db)
        return .confirmed(context)
    }

    /// The consent receipt for a confirmation, or for every list joined at once.
    static func queueWelcome(_ db: Database, subscriptionId: Int64, now: Date) throws {
        try db.execute(
            sql: """
                INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                VALUES ('welcome', ?, 'queued', ?, 0, ?)
                """,
            arguments: [subscriptionId, StoreTime.value(now), StoreTime.value(now)]
        )
    }

    public func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> SubscriptionAndList? {
        try await groupCommit.write { db in
            guard var subscription = try Subscription.fetchOne(db, key: subscriptionId) else { return nil }
            let list = try MailingList.fetchOne(db, key: subscription.listId).orThrow()
            guard subscription.status == .active || subscription.status == .pending else {
                return SubscriptionAndList(subscription: subscription, list: list)
            }
            subscription.status = .unsubscribed
            subscription.endedAt = now
            subscription.updatedAt = now
            try subscription.update(db)
            var consent = ConsentEvent(
                subscriptionId: subscriptionId,
                kind: .withdrawn,
                occurredAt: now,
                ip: origin.ip,
                userAgent: origin.userAgent,
                source: origin.source
            )
            try consent.insert(db)
            var audit = AuditEvent(
                occurredAt: now,
                actor: origin.actor,
                action: "subscription.withdrawn",
                subscriberId: subscription.subscriberId,
                listId: list.id,
                detail: origin.source
            )
            try audit.insert(db)
            return SubscriptionAndList(subscription: subscription, list: list)
        }
    }

    public func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord? {
        try await writer.read { db in
            guard let subscriber = try Subscriber.filter(Column("addressKey") == address.key).fetchOne(db),
                let subscriberId = subscriber.id
            else { return nil }
            let subscriptions = try Self.subscriptionsWithLists(db, subscriberId: subscriberId)
            var consent: [ConsentEvent] = []
            var versions: [Int64: Int] = [:]
            for row in try Self.consentRows(db, subscriberId: subscriberId) {
                let event = try ConsentEvent(row: row)
                consent.append(event)
                if let id = event.termsVersionId, let number: Int = row["termsVersion"] { versions[id] = number }
            }
            let bounces = try Self.bounces(db, subscriberId: subscriberId)
            return SubscriberRecord(
                subscriber: subscriber,
                subscriptions: subscriptions.map(SubscriptionAndList.init),
                consent: consent,
                termsVersionNumbers: versions,
                bounces: bounces
            )
        }
    }

    /// Every consent entry of a subscriber, oldest first, in one query, each
    /// with the number of the terms version it names (column `termsVersion`).
    static func consentRows(_ db: Database, subscriberId: Int64) throws -> [Row] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT consentEvent.*, termsVersion.version AS termsVersion FROM consentEvent
                JOIN subscription ON subscription.id = consentEvent.subscriptionId
                LEFT JOIN termsVersion ON termsVersion.id = consentEvent.termsVersionId
                WHERE subscription.subscriberId = ? ORDER BY consentEvent.id
                """,
            arguments: [subscriberId]
        )
    }

    /// A subscriber's subscriptions with their lists, oldest first, in one query.
    static func subscriptionsWithLists(_ db: Database, subscriberId: Int64) throws -> [(Subscription, MailingList)] {
        let adapters = try splittingRowAdapters(columnCounts: [db.columns(in: "subscription").count])
        let adapter = ScopeAdapter(["subscription": adapters[0], "list": adapters[1]])
        return try Row.fetchAll(
            db,
            sql: """
                SELECT subscription.*, mailingList.* FROM subscription
                JOIN mailingList ON mailingList.id = subscription.listId
                WHERE subscription.subscriberId = ? ORDER BY subscription.id
                """,
            arguments: [subscriberId],
            adapter: adapter
        ).map { row in
            (try Subscription(row: try row.scopes["subscription"].orThrow()), try MailingList(row: try row.scopes["list"].orThrow()))
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
                    address: row["address"],
                    listSlug: row["slug"],
                    status: SubscriptionStatus(rawValue: row["status"]) ?? .pending,
                    requestedAt: row["requestedAt"],
                    confirmedAt: row["confirmedAt"]
                )
            }
        }
    }

    // MARK: Helpers inside a transaction

    /// The subscriber's id, inserting the subscriber when the address is new.
    private static func subscriberId(_ db: Database, for address: EmailAddress, stamp: DatabaseValue) throws -> Int64 {
        let find = try db.cachedStatement(sql: "SELECT id FROM subscriber WHERE addressKey = ?")
        if let id = try Int64.fetchOne(find, arguments: [address.key]) { return id }
        try db.cachedStatement(sql: "INSERT INTO subscriber (address, addressKey, createdAt) VALUES (?, ?, ?)")
            .execute(arguments: [address.value, address.key, stamp])
        return db.lastInsertedRowID
    }

    /// A list's id and default language by slug (the default list for nil).
    private static func listKey(_ db: Database, slug: String?) throws -> (id: Int64, language: Language) {
        let row: Row?
        if let slug {
            row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT id, language FROM mailingList WHERE slug = ?"), arguments: [slug])
        } else {
            row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT id, language FROM mailingList ORDER BY id LIMIT 1"))
        }
        guard let row else { throw slug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList }
        return (row["id"], Language(rawValue: row["language"]) ?? .en)
    }

    static func confirmationContext(_ db: Database, subscriptionId: Int64) throws -> ConfirmationContext? {
        guard let subscription = try Subscription.fetchOne(db, key: subscriptionId) else { return nil }
        let list = try MailingList.fetchOne(db, key: subscription.listId).orThrow()
        let terms = try currentTerms(db, listId: subscription.listId)
        return ConfirmationContext(
            subscription: subscription,
            list: list,
            terms: terms,
            translation: subscription.language == list.language ? nil : try translation(db, of: terms.id, in: subscription.language)
        )
    }

}
