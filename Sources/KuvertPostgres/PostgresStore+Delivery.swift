import Dispatch
import Foundation
import KuvertCore
import PostgresNIO
import Synchronization

// The mailer's threads block on libcurl and call `DeliveryStore` from there;
// each call here runs the store's async work in a task and waits for it on
// the calling thread, never on the cooperative pool.
extension PostgresStore: AsyncRecordingDeliveryStore {
    /// Each record a task of its own: they are network calls.
    public var recording: DeliveryRecording { .committedAsync(self) }

    public func leaseDueMessages(limit: Int, leaseFor: TimeInterval, holder: LeaseHolder, now: Date) throws -> [OutboxDelivery] {
        try blocking { [self] in
            try await leaseDue(limit: limit, leaseFor: leaseFor, holder: holder.description, now: now)
        }
    }

    public func recordDelivery(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) throws {
        try blocking { [self] in try await store(id, record, bounceLimit: bounceLimit, now: now) }
    }

    public func recordDeliveryAsync(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) async throws {
        try await store(id, record, bounceLimit: bounceLimit, now: now)
    }

    public func releaseLeases(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try blocking { [self] in
            try await connection { c in
                try await c.run(
                    """
                    UPDATE outboxMessage SET status = 'queued', leaseExpiresAt = NULL, leaseHolder = NULL
                    WHERE status = 'leased' AND id = ANY(\(ids))
                    """
                )
            }
        }
    }

    public func leaseHolders() throws -> [LeaseClaim] {
        try blocking { [self] in
            try await connection { c in
                try await c.query(
                    """
                    SELECT leaseHolder, count(*) FROM outboxMessage
                    WHERE status = 'leased' AND leaseHolder IS NOT NULL GROUP BY leaseHolder
                    """,
                    logger: Self.quiet
                ).decode((String, Int).self).reduce(into: [LeaseClaim]()) { $0.append(LeaseClaim(holder: $1.0, messages: $1.1)) }
            }
        }
    }

    public func releaseLeases(heldBy holder: String) throws -> Int {
        try blocking { [self] in
            try await connection { c in
                try await c.value(
                    """
                    WITH released AS (
                        UPDATE outboxMessage SET status = 'queued', leaseExpiresAt = NULL, leaseHolder = NULL
                        WHERE status = 'leased' AND leaseHolder = \(holder) RETURNING 1
                    )
                    SELECT count(*) FROM released
                    """,
                    as: Int.self
                ) ?? 0
            }
        }
    }

    /// Claims due messages (and those whose lease expired) with `FOR UPDATE SKIP
    /// LOCKED`, so workers on several machines never claim the same row, and
    /// loads them with their recipients in the same statement; the campaigns
    /// they belong to come in one more query. The claim commits (durably: a
    /// claim the server forgot in a crash would let another worker send the
    /// message too) before anything is sent: no transaction stays open across SMTP.
    func leaseDue(limit: Int, leaseFor: TimeInterval, holder: String, now: Date) async throws -> [OutboxDelivery] {
        try await connection { c in
            let rows = try await c.rows(
                """
                WITH claimed AS (
                    UPDATE outboxMessage SET status = 'leased', leaseExpiresAt = \(now.addingTimeInterval(leaseFor)),
                        leaseHolder = \(holder)
                    WHERE id IN (
                        SELECT id FROM outboxMessage
                        WHERE (status = 'queued' AND dueAt <= \(now)
                               AND (campaignId IS NULL OR kind = 'test'
                                    OR campaignId IN (SELECT id FROM campaign WHERE status = 'sending')))
                           OR (status = 'leased' AND leaseExpiresAt <= \(now))
                        ORDER BY dueAt, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING *
                )
                \(unescaped: Self.deliverySelect("claimed"))
                """
            )
            return try await Self.deliveries(c, rows)
        }
    }

    /// Outbox rows of `source` (a table or a CTE) with subscription, address and list.
    static func deliverySelect(_ source: String) -> String {
        """
        SELECT \(OutboxMessage.select("m")), \(Subscription.select("s")), p.address AS p_address,
               p.restrictedAt IS NOT NULL AS p_restricted, \(MailingList.select("l"))
        FROM \(source) m
        LEFT JOIN subscription s ON s.id = m.subscriptionId
        LEFT JOIN subscriber p ON p.id = s.subscriberId
        LEFT JOIN campaign c ON c.id = m.campaignId
        LEFT JOIN mailingList l ON l.id = coalesce(s.listId, c.listId)
        ORDER BY m.id
        """
    }

    /// Rows of `deliverySelect` as deliveries, with their campaigns loaded in
    /// one query. A row whose subscription went, or a test without its
    /// recipient, is left out.
    static func deliveries(_ c: PostgresConnection, _ rows: [PostgresRandomAccessRow]) async throws -> [OutboxDelivery] {
        let messages = try rows.map { try OutboxMessage($0, "m") }
        let campaignIds = Array(Set(messages.compactMap(\.campaignId)))
        var campaigns: [Int64: Campaign] = [:]
        if !campaignIds.isEmpty {
            for row in try await c.rows(
                "SELECT \(unescaped: Campaign.select("c")) FROM campaign c WHERE c.id = ANY(\(campaignIds))"
            ) {
                let campaign = try Campaign(row, "c")
                campaigns[try campaign.id.orThrow()] = campaign
            }
        }
        var deliveries = try zip(rows, messages).compactMap { row, message -> OutboxDelivery? in
            let campaign = message.campaignId.flatMap { campaigns[$0] }
            let subscription = Cells(row: row, prefix: "s_")
            guard !Cells(row: row, prefix: "l_").isAbsent else { return nil }
            if message.subscriptionId != nil {
                guard !subscription.isAbsent else { return nil }
                return OutboxDelivery(
                    message: message,
                    address: try row["p_address"].decode(String.self),
                    list: try MailingList(row, "l"),
                    subscription: try Subscription(subscription),
                    campaign: campaign,
                    restricted: try row["p_restricted"].decode(Bool.self)
                )
            }
            guard let campaign, let recipient = message.testRecipient else { return nil }
            return OutboxDelivery(
                message: message,
                address: recipient,
                list: try MailingList(row, "l"),
                subscription: nil,
                campaign: campaign
            )
        }
        let confirmations = deliveries.compactMap { $0.message.kind == .confirmation ? $0.subscription?.id : nil }
        if !confirmations.isEmpty {
            var others: [Int64: [String]] = [:]
            var binds = PostgresBindings()
            binds.append(confirmations)
            for row in try await c.rows(PostgresQuery(unsafeSQL: ConfirmationMail.siblingsQuery(ids: "SELECT unnest($1::bigint[])"), binds: binds)) {
                others[try row["id"].decode(Int64.self), default: []].append(try row["name"].decode(String.self))
            }
            for index in deliveries.indices where deliveries[index].message.kind == .confirmation {
                deliveries[index].otherLists = deliveries[index].subscription?.id.flatMap { others[$0] } ?? []
            }
        }
        for index in deliveries.indices where [.address, .addressNotice].contains(deliveries[index].message.kind) {
            var change: AddressChange?
            if deliveries[index].message.kind == .address, let person = deliveries[index].subscription?.subscriberId {
                change = try await addressChange(c, subscriberId: person, locking: false)
            }
            deliveries[index].address(for: change)
        }
        var changes: [Int64: TermsChange] = [:]
        for index in deliveries.indices {
            guard let changeId = deliveries[index].message.termsChangeId, let subscriptionId = deliveries[index].subscription?.id else { continue }
            if changes[changeId] == nil { changes[changeId] = try await termsChange(c, id: changeId) }
            deliveries[index].termsChange = changes[changeId]
            guard let change = changes[changeId], change.kind == .reconsent else { continue }
            var binds = PostgresBindings()
            binds.append(subscriptionId)
            binds.append(change.termsVersionId)
            deliveries[index].reconsentAccepted =
                try await c.value(PostgresQuery(unsafeSQL: OutboxDelivery.acceptedQuery("$1", "$2"), binds: binds), as: Bool.self) ?? false
        }
        for index in deliveries.indices where deliveries[index].message.kind == .welcome {
            guard let id = deliveries[index].subscription?.id else { continue }
            var binds = PostgresBindings()
            binds.append(id)
            let found = try await c.rows(PostgresQuery(unsafeSQL: WelcomeReceipt.query(parameter: "$1"), binds: binds))
            deliveries[index].receipt = try found.first.map { first in
                WelcomeReceipt(
                    confirmedAt: try first["occurredat"].decode(Date.self),
                    entries: try found.map { row in
                        WelcomeReceipt.Entry(
                            subscriptionId: try row["id"].decode(Int64.self),
                            listSlug: try row["slug"].decode(String.self),
                            listName: try row["name"].decode(String.self),
                            termsVersion: try row["version"].decode(Int.self)
                        )
                    }
                )
            }
        }
        return deliveries
    }

    /// What became of a leased message, and `BouncePolicy` applied to its
    /// subscription (a delivery resets the count of mailbox refusals in a row,
    /// a refusal adds one and bounces the subscription at `limit`), in
    /// `kuvert_record_delivery` (migration pg7), with the records of other
    /// sessions that arrive together (`records`, a `Coalescer`).
    func store(_ id: Int64, _ record: DeliveryRecord, bounceLimit: Int, now: Date) async throws {
        let (status, outcome, dueAt, counts): (OutboxMessage.Status, SendOutcome, Date?, Bool) =
            switch record {
            case .sent(let outcome): (.sent, outcome, nil, true)
            case .retry(let outcome, let at): (.queued, outcome, at, true)
            case .failed(let outcome): (.failed, outcome, nil, true)
            case .skipped(let reason): (.skipped, SendOutcome(kind: .permanent, code: nil, reply: reason), nil, false)
            }
        let effect =
            switch BouncePolicy.effect(of: record) {
            // No delivery record unsubscribes anyone.
            case .none, .unsubscribes: "none"
            case .resetsCount: "reset"
            case .countsTowardsBounce: "count"
            case .bouncesNow: "bounce"
            }
        let call = RecordCall(
            id: id,
            status: status.rawValue,
            reply: String(outcome.reply.prefix(512)),
            code: outcome.code,
            dueAt: dueAt,
            attempts: counts ? 1 : 0,
            effect: effect,
            bounceLimit: bounceLimit,
            now: now
        )
        do {
            try await records.call(call).get()
        } catch {
            throw Self.oneLine(error, location: location)
        }
    }

    /// Records that arrived together (the sessions of this process each wait
    /// for their last one) in one call and one transaction, in the order of
    /// their messages; should the batch fail, each is tried alone.
    static func record(_ calls: [RecordCall], on pool: BoundedPool) async -> [Result<Void, any Error>] {
        await answer(calls, on: pool) { calls, c in
            for try await _ in try await c.execute(RecordManyCall(calls: calls.sorted { $0.id < $1.id }), logger: quiet) {}
            return calls.map { _ in () }
        }
    }

    /// One record's values for `kuvert_record_delivery`; the sending time is
    /// `now` when the message was sent.
    struct RecordCall: Sendable {
        let id: Int64
        let status: String
        let reply: String
        let code: Int?
        let dueAt: Date?
        let attempts: Int
        let effect: String
        let bounceLimit: Int
        let now: Date
    }

    /// `kuvert_record_deliveries` (migration pg7), prepared once per
    /// connection: a batch of records (or one).
    struct RecordManyCall: PostgresPreparedStatement {
        static let sql = "SELECT kuvert_record_deliveries($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        static let bindingDataTypes: [PostgresDataType] = [
            .int8Array, .textArray, .textArray, .int4Array, .timestamptzArray, .int4Array, .textArray, .int4Array,
            .timestamptzArray,
        ]
        typealias Row = Void

        let calls: [RecordCall]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 9)
            bindings.append(calls.map(\.id))
            bindings.append(calls.map(\.status))
            bindings.append(calls.map(\.reply))
            bindings.append(calls.map { $0.code.map(Int32.init(clamping:)) ?? -1 })
            bindings.append(calls.map { $0.dueAt ?? $0.now })
            bindings.append(calls.map { Int32($0.attempts) })
            bindings.append(calls.map(\.effect))
            bindings.append(calls.map { Int32(clamping: $0.bounceLimit) })
            bindings.append(calls.map(\.now))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// Runs `body` in a task and waits for it on the calling thread (one of the
    /// mailer's own, which may block).
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        Task {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
