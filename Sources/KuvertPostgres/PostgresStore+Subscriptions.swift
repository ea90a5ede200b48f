import Foundation
import KuvertCore
import PostgresNIO

// Each request is its own transaction. PostgreSQL's commit waits for its WAL
// record to be flushed (`synchronous_commit = on`, the default), and commits
// that arrive together share one flush: the server's own group commit keeps
// "on disk before the answer" as SQLite's `GroupCommit` does.
extension PostgresStore: SubscriptionStore {
    public func subscribe(_ request: SubscriptionRequest, resendWindow: TimeInterval, now: Date) async throws -> IntakeOutcome {
        let call = SubscribeCall(request: request, nonce: RandomHex.make(), resendWindow: resendWindow, now: now)
        let answer: (String, Int64?)
        do {
            answer = try await intake.call(call).get()
        } catch {
            throw Self.oneLine(error, location: location)
        }
        switch answer {
        case ("queued", let id?): return .confirmationQueued(subscriptionId: id)
        case ("pending", _): return .alreadyPending
        case ("active", _): return .alreadyActive
        case ("no-list", _): throw request.listSlug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList
        default: throw StoredValueError(column: "kuvert_subscribe", value: answer.0)
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
        let nonce = RandomHex.make()
        return try await transaction { c in
            // The lists whose link is on its way already, in their own mail or with the lists asked for beside them.
            var underway: Set<String> = []
            for slug in slugs {
                var binds = PostgresBindings()
                binds.append(request.address.key)
                binds.append(slug)
                binds.append(now.addingTimeInterval(-resendWindow))
                let query = PostgresQuery(unsafeSQL: ConfirmationMail.groupUnderwayQuery(key: "$1", slug: "$2", since: "$3"), binds: binds)
                if try await c.value(query, as: Bool.self) == true { underway.insert(slug) }
            }
            let asked = slugs.filter { !underway.contains($0) }
            let calls = asked.map { slug in
                var one = request
                one.listSlug = slug
                return SubscribeCall(request: one, nonce: nonce, resendWindow: resendWindow, now: now)
            }
            var outcomes: [IntakeOutcome] = underway.map { _ in .alreadyPending }
            if !calls.isEmpty {
                var index = 0
                for try await (outcome, id) in try await c.execute(SubscribeManyCall(calls: calls), logger: Self.quiet) {
                    switch (outcome, id) {
                    case ("queued", let id?): outcomes.append(.confirmationQueued(subscriptionId: id))
                    case ("pending", _): outcomes.append(.alreadyPending)
                    case ("active", _): outcomes.append(.alreadyActive)
                    case ("no-list", _): throw KuvertError.unknownList(asked[index])
                    default: throw StoredValueError(column: "kuvert_subscribe", value: outcome)
                    }
                    index += 1
                }
            }
            let queued = outcomes.compactMap(\.queuedSubscription)
            if queued.count > 1 {
                // One link, one mail: the same nonce for all, the first one's mail for all.
                try await c.run("UPDATE subscription SET confirmNonce = \(nonce) WHERE id = ANY(\(queued))")
                try await c.run(
                    """
                    UPDATE outboxMessage SET status = 'skipped', lastReply = \(ConfirmationMail.sharedReason)
                    WHERE kind = 'confirmation' AND status = 'queued' AND subscriptionId = ANY(\(Array(queued.dropFirst())))
                    """
                )
            }
            return IntakeOutcome.combined(outcomes)
        }
    }

    /// Requests that arrived together, in one call and one transaction, in the
    /// order of their addresses' keys: two batches lock people's rows in the
    /// same order, and never wait for each other in a circle. Should the batch
    /// fail (a request the schema refuses, a lost connection), each request is
    /// tried alone, so that one request's fault is its own.
    static func subscribe(_ calls: [SubscribeCall], on pool: BoundedPool) async -> [Result<(String, Int64?), any Error>] {
        await answer(calls, on: pool) { calls, c in
            let order = calls.indices.sorted { calls[$0].request.address.key < calls[$1].request.address.key }
            var rows: [(String, Int64?)] = []
            for try await row in try await c.execute(SubscribeManyCall(calls: order.map { calls[$0] }), logger: quiet) {
                rows.append(row)
            }
            guard rows.count == calls.count else { return rows }
            var answers = rows
            for (position, row) in zip(order, rows) { answers[position] = row }
            return answers
        }
    }

    /// One request's values for `kuvert_subscribe`.
    struct SubscribeCall: Sendable {
        let request: SubscriptionRequest
        let nonce: String
        let resendWindow: TimeInterval
        let now: Date
    }

    /// `kuvert_subscribe_many` (migration pg7), prepared once per connection:
    /// a batch of requests (or one) in one round trip and one transaction.
    struct SubscribeManyCall: PostgresPreparedStatement {
        static let sql = "SELECT outcome, subscription_id FROM kuvert_subscribe_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        static let bindingDataTypes: [PostgresDataType] = [
            .textArray, .textArray, .textArray, .textArray, .textArray, .textArray, .timestamptzArray, .timestamptzArray,
            .float8Array, .textArray, .textArray, .textArray, .textArray,
        ]
        typealias Row = (String, Int64?)

        let calls: [SubscribeCall]

        func makeBindings() throws -> PostgresBindings {
            // No value is an empty text here (arrays carry no NULLs); the function reads it back as NULL.
            func texts(_ value: (SubscriptionRequest) -> String?) -> [String] { calls.map { value($0.request) ?? "" } }
            var bindings = PostgresBindings(capacity: 13)
            bindings.append(texts(\.listSlug))
            bindings.append(texts(\.address.value))
            bindings.append(texts(\.address.key))
            bindings.append(texts(\.name))
            bindings.append(texts(\.language?.rawValue))
            bindings.append(calls.map(\.nonce))
            bindings.append(calls.map(\.now))
            bindings.append(calls.map { $0.request.confirmationDueAt ?? $0.now })
            bindings.append(calls.map(\.resendWindow))
            bindings.append(texts(\.actor))
            bindings.append(texts(\.origin.ip))
            bindings.append(texts(\.origin.userAgent))
            bindings.append(texts(\.origin.source))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }

    public func confirmationContext(subscriptionId: Int64) async throws -> ConfirmationContext? {
        try await connection { c in try await Self.confirmationContext(c, subscriptionId: subscriptionId, locking: false) }
    }

    public func confirmationGroup(subscriptionId: Int64) async throws -> [ConfirmationContext] {
        try await connection { c in
            let ids = try await c.column(
                """
                SELECT s.id FROM subscription s JOIN subscription lead ON lead.subscriberId = s.subscriberId
                    AND lead.confirmNonce = s.confirmNonce
                WHERE lead.id = \(subscriptionId) ORDER BY s.listId
                """,
                as: Int64.self
            )
            var group: [ConfirmationContext] = []
            for id in ids {
                if let context = try await Self.confirmationContext(c, subscriptionId: id, locking: false) { group.append(context) }
            }
            return group
        }
    }

    public func confirm(_ acceptances: [TermsAcceptance], now: Date) async throws -> [ConfirmOutcome] {
        try await transaction { c in
            var outcomes: [ConfirmOutcome] = []
            var welcomed = false
            for acceptance in acceptances {
                let outcome = try await Self.confirm(c, acceptance, now: now)
                // One receipt names every list that became active now.
                if case .confirmed = outcome, !welcomed {
                    welcomed = true
                    try await c.run(
                        """
                        INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                        VALUES ('welcome', \(acceptance.subscriptionId), 'queued', \(now), 0, \(now))
                        """
                    )
                }
                outcomes.append(outcome)
            }
            return outcomes
        }
    }

    private static func confirm(_ c: PostgresConnection, _ acceptance: TermsAcceptance, now: Date) async throws -> ConfirmOutcome {
        guard var context = try await Self.confirmationContext(c, subscriptionId: acceptance.subscriptionId, locking: true),
            context.subscription.confirmNonce == acceptance.nonce
        else { return .superseded }
        switch context.subscription.status {
        case .active: return .alreadyActive(context)
        case .unsubscribed, .bounced, .lapsed: return .ended
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
            """
        )
        return .confirmed(context)
    }

    public func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> SubscriptionAndList? {
        try await transaction { c -> SubscriptionAndList? in
            guard
                let row = try await c.rows(
                    """
                    SELECT \(unescaped: Subscription.select("s")), \(unescaped: MailingList.select("l"))
                    FROM subscription s JOIN mailingList l ON l.id = s.listId WHERE s.id = \(subscriptionId) FOR UPDATE OF s
                    """
                ).first
            else { return nil }
            var subscription = try Subscription(row, "s")
            let list = try MailingList(row, "l")
            guard subscription.status == .active || subscription.status == .pending else {
                return SubscriptionAndList(subscription: subscription, list: list)
            }
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
                VALUES (\(now), \(origin.actor), 'subscription.withdrawn', \(subscription.subscriberId), \(list.id), \(origin.source))
                """
            )
            return SubscriptionAndList(subscription: subscription, list: list)
        }
    }

    public func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord? {
        try await connection { c in
            guard let subscriber = try await Self.subscriber(c, address), let subscriberId = subscriber.id else { return nil }
            let subscriptions = try await Self.subscriptionsWithLists(c, subscriberId: subscriberId)
            var consent: [ConsentEvent] = []
            var versions: [Int64: Int] = [:]
            for row in try await Self.consentRows(c, subscriberId: subscriberId) {
                let event = try ConsentEvent(row, "e")
                consent.append(event)
                if let id = event.termsVersionId, let number = try row["termsversion"].decode(Int?.self) { versions[id] = number }
            }
            let bounces = try await Self.bounces(c, subscriberId: subscriberId)
            return SubscriberRecord(
                subscriber: subscriber,
                subscriptions: subscriptions.map(SubscriptionAndList.init),
                consent: consent,
                termsVersionNumbers: versions,
                bounces: bounces
            )
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
                    address: try row["address"].decode(String.self),
                    listSlug: try row["slug"].decode(String.self),
                    status: SubscriptionStatus(rawValue: try row["status"].decode(String.self)) ?? .pending,
                    requestedAt: try row["requestedat"].decode(Date.self),
                    confirmedAt: try row["confirmedat"].decode(Date?.self)
                )
            }
        }
    }

    // MARK: Helpers inside a transaction

    /// A subscription and its list, sendable out of a transaction.

    /// A list's id and default language by slug (the default list for nil).
    static func listKey(_ c: PostgresConnection, slug: String?) async throws -> (Int64, Language) {
        let rows = try await c.rows(
            slug.map { "SELECT id, language FROM mailingList WHERE slug = \($0)" }
                ?? "SELECT id, language FROM mailingList ORDER BY id LIMIT 1"
        )
        guard let row = rows.first else { throw slug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList }
        return (try row["id"].decode(Int64.self), Language(rawValue: try row["language"].decode(String.self)) ?? .en)
    }

    /// The subscription, its list and the list's current terms; with `locking`,
    /// the subscription's row stays locked until the transaction ends.
    static func confirmationContext(_ c: PostgresConnection, subscriptionId: Int64, locking: Bool) async throws -> ConfirmationContext? {
        guard
            let row = try await c.rows(
                """
                SELECT \(unescaped: Subscription.select("s")), \(unescaped: MailingList.select("l")), \(unescaped: TermsVersion.select("t"))
                FROM subscription s JOIN mailingList l ON l.id = s.listId
                JOIN LATERAL (SELECT * FROM termsVersion WHERE listId = s.listId ORDER BY version DESC LIMIT 1) t ON true
                WHERE s.id = \(subscriptionId) \(unescaped: locking ? "FOR UPDATE OF s" : "")
                """
            ).first
        else { return nil }
        let (subscription, list, terms) = (try Subscription(row, "s"), try MailingList(row, "l"), try TermsVersion(row, "t"))
        var translation: (body: String, sha256: String)?
        if subscription.language != list.language,
            let shown = try await c.rows(
                "SELECT body, sha256 FROM termsTranslation WHERE termsVersionId = \(terms.id) AND language = \(subscription.language.rawValue)"
            ).first
        {
            translation = (try shown["body"].decode(String.self), try shown["sha256"].decode(String.self))
        }
        return ConfirmationContext(subscription: subscription, list: list, terms: terms, translation: translation)
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
            """
        )
    }
}

extension Optional {
    /// The value the schema guarantees, or an error saying the store is damaged.
    func orThrow() throws -> Wrapped {
        guard let self else { throw StoredValueError(column: "a required column", value: "nothing") }
        return self
    }
}
