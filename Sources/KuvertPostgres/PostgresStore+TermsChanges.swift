import Foundation
import KuvertCore
import PostgresNIO

extension TermsChange: PostgresRecord {
    static let columns = [
        "id", "listId", "kind", "termsVersionId", "previousVersion", "summary", "lastSubscriptionId", "createdAt", "deadline",
        "queuedAt", "remindedAt", "closedAt",
    ]

    /// Its version number comes from `termsVersion v`, selected as `v_version`.
    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            listId: try cells("listId"),
            kind: try cells.value("kind"),
            termsVersionId: try cells("termsVersionId"),
            version: try cells.row["v_version"].decode(Int.self),
            previousVersion: try cells("previousVersion"),
            summary: try cells("summary"),
            lastSubscriptionId: try cells("lastSubscriptionId"),
            createdAt: try cells("createdAt"),
            deadline: try cells("deadline"),
            queuedAt: try cells("queuedAt"),
            remindedAt: try cells("remindedAt"),
            closedAt: try cells("closedAt")
        )
    }

    /// The select list and tables a change is read with.
    static let query = "SELECT \(select("c")), v.version AS v_version FROM termsChange c JOIN termsVersion v ON v.id = c.termsVersionId"
}

// Each step of the deadline job runs in transactions that take one
// transaction-level advisory lock, so that nodes running it at once go one
// after the other; every step is also written to be harmless twice (inserts
// that name their change skip what exists, updates that test state).
extension PostgresStore {
    /// The advisory lock of terms changes' deadline steps.
    static let termsLock: Int64 = 0x6B75_7665_7263  // "kuverc"

    /// The subscriptions a change still waits for, over `subscription s`:
    /// active, spoken to when it opened, not restricted, without an
    /// acceptance of its version.
    static func unanswered(_ change: TermsChange) -> String {
        // Numbers only, written in place.
        """
        s.listId = \(change.listId) AND s.status = 'active' AND s.id <= \(change.lastSubscriptionId)
        AND s.subscriberId NOT IN (SELECT id FROM subscriber WHERE restrictedAt IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM consentEvent e WHERE e.subscriptionId = s.id AND e.kind = 'confirmed'
                        AND e.termsVersionId = \(change.termsVersionId))
        """
    }

    static func openTermsChange(_ c: PostgresConnection, listId: Int64) async throws -> TermsChange? {
        try await c.rows("\(unescaped: TermsChange.query) WHERE c.listId = \(listId) AND c.closedAt IS NULL").first.map { try TermsChange($0, "c") }
    }

    static func termsChange(_ c: PostgresConnection, id: Int64) async throws -> TermsChange? {
        try await c.rows("\(unescaped: TermsChange.query) WHERE c.id = \(id)").first.map { try TermsChange($0, "c") }
    }
}

extension PostgresStore: TermsChangeStore {
    public func changeTerms(
        listSlug: String,
        body: String,
        translations: [Language: String],
        _ request: TermsChangeRequest,
        actor: String,
        now: Date,
        batchSize: Int
    ) async throws -> TermsChangeProgress {
        let change = try await transaction { [self] c -> TermsChange in
            let (list, version, previous) = try await publishTerms(
                c,
                listSlug: listSlug,
                body: body,
                translations: translations,
                actor: actor,
                now: now
            )
            let listId = try list.id.orThrow()
            let deadline = request.deadline.map { now.addingTimeInterval($0) }
            let id = try await c.value(
                """
                INSERT INTO termsChange (listId, kind, termsVersionId, previousVersion, summary, lastSubscriptionId, createdAt, deadline)
                SELECT \(listId), \(request.kind.rawValue), \(version.id), \(max(previous, 1)), \(request.summary),
                       coalesce(max(id), 0), \(now), \(deadline)
                FROM subscription WHERE listId = \(listId)
                RETURNING id
                """,
                as: Int64.self
            ).orThrow()
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), \("terms.\(request.kind.rawValue)"), \(listId),
                        \("terms v\(version.version)" + (deadline.map { ", deadline \(StoreTime.text($0)) UTC" } ?? "")))
                """
            )
            return try await Self.termsChange(c, id: id).orThrow()
        }
        _ = try await queueTermsChangeMail(change, now: now, batchSize: batchSize)
        // A notice nobody is to get is done at once: the next change need not wait for the job.
        if change.kind == .notice { _ = try await closeNoticeIfSent(try change.id.orThrow(), now: now) }
        return try await progress(of: try change.id.orThrow()).orThrow()
    }

    /// Queues a change's first mail by streaming the list in ranges, as a
    /// campaign is queued; a notice writes its `notified` entries in the same
    /// statements, for the messages they inserted. Run again after a crash,
    /// it adds only what is missing. Marks the change queued.
    private func queueTermsChangeMail(_ change: TermsChange, now: Date, batchSize: Int) async throws -> Int {
        let changeId = try change.id.orThrow()
        let kind = change.kind == .notice ? OutboxMessage.Kind.notice : .reconsent
        let queued = try await inRanges(ofActive: change.listId, through: change.lastSubscriptionId, batchSize: batchSize) {
            [self] after, upTo in
            try await connection(unbounded: true) { c in
                try await c.value(
                    """
                    WITH inserted AS (
                        INSERT INTO outboxMessage (kind, subscriptionId, termsChangeId, status, dueAt, attempts, createdAt)
                        SELECT \(kind.rawValue), id, \(changeId), 'queued', \(now), 0, \(now) FROM subscription
                        WHERE listId = \(change.listId) AND status = 'active' AND id > \(after) AND id <= \(change.lastSubscriptionId)
                          AND (\(upTo)::bigint IS NULL OR id <= \(upTo))
                          AND subscriberId NOT IN (SELECT id FROM subscriber WHERE restrictedAt IS NOT NULL)
                        ON CONFLICT DO NOTHING RETURNING subscriptionId
                    ), notified AS (
                        INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source, termsVersionId)
                        SELECT subscriptionId, 'notified', \(now), 'notice', \(change.termsVersionId) FROM inserted
                        WHERE \(change.kind == .notice)
                    )
                    SELECT count(*) FROM inserted
                    """,
                    as: Int.self
                ) ?? 0
            }
        }
        try await connection { c in
            try await c.run("UPDATE termsChange SET queuedAt = \(now) WHERE id = \(changeId) AND queuedAt IS NULL")
        }
        return queued
    }

    public func latestTermsChange(listSlug: String, now: Date) async throws -> TermsChangeProgress? {
        let id = try await connection { c -> Int64? in
            guard let listId = try await c.value("SELECT id FROM mailingList WHERE slug = \(listSlug)", as: Int64.self) else {
                throw KuvertError.unknownList(listSlug)
            }
            return try await c.value("SELECT max(id) FROM termsChange WHERE listId = \(listId)", as: Int64?.self) ?? nil
        }
        guard let id else { return nil }
        return try await progress(of: id)
    }

    private func progress(of id: Int64) async throws -> TermsChangeProgress? {
        try await connection(unbounded: true) { c in
            guard let change = try await Self.termsChange(c, id: id) else { return nil }
            let slug = try await c.value("SELECT slug FROM mailingList WHERE id = \(change.listId)", as: String.self) ?? ""
            let mail = try await c.rows(
                """
                SELECT count(*) FILTER (WHERE kind != 'reconsent-reminder' AND status = 'sent') AS mailed,
                       count(*) FILTER (WHERE kind != 'reconsent-reminder' AND status IN ('queued', 'leased')) AS waiting,
                       count(*) FILTER (WHERE kind != 'reconsent-reminder' AND status IN ('failed', 'skipped')) AS notsent,
                       count(*) FILTER (WHERE kind = 'reconsent-reminder' AND status = 'sent') AS reminded
                FROM outboxMessage WHERE termsChangeId = \(id)
                """
            ).first
            let ledger = try await c.rows(
                """
                SELECT count(DISTINCT e.subscriptionId) FILTER (WHERE e.kind = 'confirmed' AND s.id <= \(change.lastSubscriptionId)) AS accepted,
                       count(DISTINCT e.subscriptionId) FILTER (WHERE e.kind = 'lapsed') AS lapsed
                FROM consentEvent e JOIN subscription s ON s.id = e.subscriptionId
                WHERE e.termsVersionId = \(change.termsVersionId) AND e.kind IN ('confirmed', 'lapsed') AND s.listId = \(change.listId)
                """
            ).first
            func count(_ row: PostgresRandomAccessRow?, _ column: String) throws -> Int { try row.map { try $0[column].decode(Int.self) } ?? 0 }
            return TermsChangeProgress(
                change: change,
                listSlug: slug,
                mailed: try count(mail, "mailed"),
                waiting: try count(mail, "waiting"),
                notSent: try count(mail, "notsent"),
                accepted: change.kind == .reconsent ? try count(ledger, "accepted") : 0,
                reminded: try count(mail, "reminded"),
                lapsed: try count(ledger, "lapsed")
            )
        }
    }

    public func reconsent(subscriptionId: Int64, changeId: Int64) async throws -> ReconsentContext? {
        try await connection { c in try await Self.reconsent(c, subscriptionId: subscriptionId, changeId: changeId, locking: false) }
    }

    private static func reconsent(_ c: PostgresConnection, subscriptionId: Int64, changeId: Int64, locking: Bool) async throws -> ReconsentContext? {
        guard let change = try await termsChange(c, id: changeId), change.kind == .reconsent,
            let row = try await c.rows(
                """
                SELECT \(unescaped: Subscription.select("s")), \(unescaped: MailingList.select("l"))
                FROM subscription s JOIN mailingList l ON l.id = s.listId WHERE s.id = \(subscriptionId)
                \(unescaped: locking ? "FOR UPDATE OF s" : "")
                """
            ).first
        else { return nil }
        let subscription = try Subscription(row, "s")
        guard subscription.listId == change.listId, subscriptionId <= change.lastSubscriptionId,
            let terms = try await publishedTerms(c, list: try MailingList(row, "l"), version: change.version)
        else { return nil }
        var binds = PostgresBindings()
        binds.append(subscriptionId)
        binds.append(change.termsVersionId)
        let accepted = try await c.value(PostgresQuery(unsafeSQL: OutboxDelivery.acceptedQuery("$1", "$2"), binds: binds), as: Bool.self) ?? false
        return ReconsentContext(subscription: subscription, change: change, terms: terms, accepted: accepted)
    }

    public func acceptReconsent(
        subscriptionId: Int64,
        changeId: Int64,
        language: Language,
        origin: RequestOrigin,
        now: Date
    ) async throws -> ReconsentContext {
        try await transaction { c in
            // The subscription's row is locked: two posts at once record one acceptance.
            guard var context = try await Self.reconsent(c, subscriptionId: subscriptionId, changeId: changeId, locking: true) else {
                throw ConfirmationService.LinkError.noLongerValid
            }
            if try context.standing() { return context }
            let shown = context.terms.text(in: language).terms
            try await c.run(
                """
                INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source, termsVersionId, termsSHA256)
                VALUES (\(subscriptionId), 'confirmed', \(now), \(origin.ip), \(origin.userAgent), 'reconsent',
                        \(context.change.termsVersionId), \(shown.sha256))
                """
            )
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                VALUES (\(now), \(origin.actor), 'subscription.reconsented', \(context.subscription.subscriberId), \(context.change.listId),
                        \("terms v\(context.change.version)"))
                """
            )
            context.accepted = true
            return context
        }
    }

    public func nextTermsDeadline() async throws -> Date? {
        try await connection { c in
            try await c.rows("\(unescaped: TermsChange.query) WHERE c.closedAt IS NULL").compactMap { try TermsChange($0, "c").nextMoment }.min()
        }
    }

    public func applyTermsDeadlines(now: Date, batchSize: Int) async throws -> TermsDeadlineReport {
        var report = TermsDeadlineReport()
        let open = try await connection { c in
            try await c.rows("\(unescaped: TermsChange.query) WHERE c.closedAt IS NULL ORDER BY c.id").map { try TermsChange($0, "c") }
        }
        for change in open {
            let id = try change.id.orThrow()
            if change.queuedAt == nil {
                guard now >= change.createdAt.addingTimeInterval(TermsChange.queueingGrace) else { continue }
                report.queued += try await queueTermsChangeMail(change, now: now, batchSize: batchSize)
                continue
            }
            guard let deadline = change.deadline, let reminderAt = change.reminderAt else {
                report.closed += try await closeNoticeIfSent(id, now: now)
                continue
            }
            if now >= deadline {
                report.lapsed += try await lapse(change, now: now, batchSize: batchSize)
                report.closed += try await transaction { c in
                    try await c.run("SELECT pg_advisory_xact_lock(\(Self.termsLock))")
                    // Requests and reminders not sent by now would ask for what can no longer be given.
                    try await c.run(
                        """
                        UPDATE outboxMessage SET status = 'skipped', lastReply = 're-consent closed', leaseExpiresAt = NULL, leaseHolder = NULL
                        WHERE termsChangeId = \(id) AND status = 'queued'
                        """
                    )
                    return try await c.value(
                        """
                        WITH closed AS (UPDATE termsChange SET closedAt = \(now) WHERE id = \(id) AND closedAt IS NULL RETURNING 1)
                        SELECT count(*) FROM closed
                        """,
                        as: Int.self
                    ) ?? 0
                }
            } else if now >= reminderAt, change.remindedAt == nil {
                report.reminded += try await remind(change, now: now, batchSize: batchSize)
            }
        }
        return report
    }

    /// Closes a notice once none of its mail waits; 1 when it did.
    private func closeNoticeIfSent(_ id: Int64, now: Date) async throws -> Int {
        try await connection { c in
            try await c.value(
                """
                WITH closed AS (
                    UPDATE termsChange SET closedAt = \(now) WHERE id = \(id) AND closedAt IS NULL AND queuedAt IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM outboxMessage WHERE termsChangeId = \(id) AND status IN ('queued', 'leased'))
                    RETURNING 1
                )
                SELECT count(*) FROM closed
                """,
                as: Int.self
            ) ?? 0
        }
    }

    /// Queues the one reminder to those who have not answered, in batches
    /// under the lock; each insert names its change, so nobody is reminded
    /// twice, whichever node runs it.
    private func remind(_ change: TermsChange, now: Date, batchSize: Int) async throws -> Int {
        let id = try change.id.orThrow()
        var after: Int64 = 0
        var queued = 0
        while true {
            let start = after
            let (end, inserted) = try await transaction(unbounded: true) { c -> (Int64?, Int) in
                try await c.run("SELECT pg_advisory_xact_lock(\(Self.termsLock))")
                // Another node finished it meanwhile: nothing left to do.
                guard
                    try await c.value("SELECT remindedAt IS NULL FROM termsChange WHERE id = \(id)", as: Bool.self) == true,
                    let end = try await c.value(
                        """
                        SELECT max(id) FROM (SELECT s.id FROM subscription s WHERE \(unescaped: Self.unanswered(change)) AND s.id > \(start)
                        ORDER BY s.id LIMIT \(batchSize)) batch
                        """,
                        as: Int64?.self
                    ) ?? nil
                else { return (nil, 0) }
                let inserted =
                    try await c.value(
                        """
                        WITH inserted AS (
                            INSERT INTO outboxMessage (kind, subscriptionId, termsChangeId, status, dueAt, attempts, createdAt)
                            SELECT 'reconsent-reminder', s.id, \(id), 'queued', \(now), 0, \(now) FROM subscription s
                            WHERE \(unescaped: Self.unanswered(change)) AND s.id > \(start) AND s.id <= \(end)
                            ON CONFLICT DO NOTHING RETURNING 1
                        )
                        SELECT count(*) FROM inserted
                        """,
                        as: Int.self
                    ) ?? 0
                return (end, inserted)
            }
            guard let end else { break }
            queued += inserted
            after = end
        }
        try await connection { c in
            try await c.run("UPDATE termsChange SET remindedAt = \(now) WHERE id = \(id) AND remindedAt IS NULL")
        }
        return queued
    }

    /// Ends, in batches under the lock, every subscription the change still
    /// waits for: status `lapsed` (the webhook's trigger hears it), a ledger
    /// entry naming the version not accepted, an audit row.
    private func lapse(_ change: TermsChange, now: Date, batchSize: Int) async throws -> Int {
        var lapsed = 0
        // Where the last batch ended: each batch reads on from there in id
        // order, never again over the rows it lapsed.
        var after: Int64 = 0
        let detail = "terms v\(change.version) not accepted by the deadline"
        while true {
            let start = after
            let (count, last) = try await transaction(unbounded: true) { c -> (Int, Int64?) in
                try await c.run("SELECT pg_advisory_xact_lock(\(Self.termsLock))")
                let row = try await c.rows(
                    """
                    WITH lapsing AS (
                        UPDATE subscription SET status = 'lapsed', endedAt = \(now), updatedAt = \(now)
                        -- An array, not IN (SELECT …): the planner hash-joined that against a scan of the whole table per batch.
                        WHERE id = ANY(ARRAY(SELECT s.id FROM subscription s WHERE \(unescaped: Self.unanswered(change)) AND s.id > \(start)
                                             ORDER BY s.id LIMIT \(batchSize)))
                        RETURNING id, subscriberId
                    ), ledger AS (
                        INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source, termsVersionId)
                        SELECT id, 'lapsed', \(now), 'reconsent', \(change.termsVersionId) FROM lapsing
                    ), audit AS (
                        INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                        SELECT \(now), 'deadline', 'subscription.lapsed', subscriberId, \(change.listId), \(detail) FROM lapsing
                    )
                    SELECT count(*) AS n, max(id) AS last FROM lapsing
                    """
                ).first
                return (try row?["n"].decode(Int.self) ?? 0, try row?["last"].decode(Int64?.self) ?? nil)
            }
            lapsed += count
            guard count == batchSize, let last else { return lapsed }
            after = last
        }
    }
}
