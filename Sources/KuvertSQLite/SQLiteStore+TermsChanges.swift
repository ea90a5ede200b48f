import Foundation
import GRDB
import KuvertCore

extension TermsChange {
    /// The columns a change is read with, its version number joined in.
    static let selection = """
        c.id, c.listId, c.kind, c.termsVersionId, v.version, c.previousVersion, c.summary, c.lastSubscriptionId,
        c.createdAt, c.deadline, c.queuedAt, c.remindedAt, c.closedAt
        FROM termsChange c JOIN termsVersion v ON v.id = c.termsVersionId
        """

    init(row: Row) throws {
        self.init(
            id: row["id"],
            listId: row["listId"],
            kind: try Kind(rawValue: row["kind"]).orThrow(),
            termsVersionId: row["termsVersionId"],
            version: row["version"],
            previousVersion: row["previousVersion"],
            summary: row["summary"],
            lastSubscriptionId: row["lastSubscriptionId"],
            createdAt: row["createdAt"],
            deadline: row["deadline"],
            queuedAt: row["queuedAt"],
            remindedAt: row["remindedAt"],
            closedAt: row["closedAt"]
        )
    }
}

extension SQLiteStore {
    /// The list's open change, if any.
    static func openTermsChange(_ db: Database, listId: Int64) throws -> TermsChange? {
        try Row.fetchOne(db, sql: "SELECT \(TermsChange.selection) WHERE c.listId = ? AND c.closedAt IS NULL", arguments: [listId])
            .map(TermsChange.init(row:))
    }

    static func termsChange(_ db: Database, id: Int64) throws -> TermsChange? {
        try Row.fetchOne(db, sql: "SELECT \(TermsChange.selection) WHERE c.id = ?", arguments: [id]).map(TermsChange.init(row:))
    }

    /// The subscriptions a change still waits for, as SQL over `subscription s`
    /// with `:list`, `:last` and `:version`: active, spoken to when it opened,
    /// not restricted, and without an acceptance of its version.
    static let unanswered = """
        s.listId = :list AND s.status = 'active' AND s.id <= :last
        AND s.subscriberId NOT IN (SELECT id FROM subscriber WHERE restrictedAt IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM consentEvent e WHERE e.subscriptionId = s.id AND e.kind = 'confirmed' AND e.termsVersionId = :version)
        """
}

extension SQLiteStore: TermsChangeStore {
    public func changeTerms(
        listSlug: String,
        body: String,
        translations: [Language: String],
        _ request: TermsChangeRequest,
        actor: String,
        now: Date,
        batchSize: Int
    ) async throws -> TermsChangeProgress {
        let change = try await writer.write { db -> TermsChange in
            let (list, version, previous) = try Self.publishTerms(
                db,
                listSlug: listSlug,
                body: body,
                translations: translations,
                actor: actor,
                now: now
            )
            let listId = try list.id.orThrow()
            let last = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM subscription WHERE listId = ?", arguments: [listId]) ?? 0
            let deadline = request.deadline.map { now.addingTimeInterval($0) }
            try db.execute(
                sql: """
                    INSERT INTO termsChange (listId, kind, termsVersionId, previousVersion, summary, lastSubscriptionId, createdAt, deadline)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    listId, request.kind.rawValue, version.id, max(previous, 1), request.summary, last, StoreTime.value(now),
                    deadline.map(StoreTime.value),
                ]
            )
            let changeId = db.lastInsertedRowID
            var audit = AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "terms.\(request.kind.rawValue)",
                listId: listId,
                detail: "terms v\(version.version)" + (deadline.map { ", deadline \(StoreTime.text($0)) UTC" } ?? "")
            )
            try audit.insert(db)
            return try Self.termsChange(db, id: changeId).orThrow()
        }
        _ = try await queueTermsChangeMail(change, now: now, batchSize: batchSize)
        // A notice nobody is to get is done at once: the next change need not wait for the job.
        if change.kind == .notice { _ = try await closeNoticeIfSent(try change.id.orThrow(), now: now) }
        return try await progress(of: try change.id.orThrow(), now: now).orThrow()
    }

    /// Queues a change's first mail, streaming the list in batches from where
    /// an earlier run stopped; a notice writes its `notified` entries in the
    /// same transactions. Marks the change queued. Returns how many were queued.
    private func queueTermsChangeMail(_ change: TermsChange, now: Date, batchSize: Int) async throws -> Int {
        let changeId = try change.id.orThrow()
        let kind = change.kind == .notice ? OutboxMessage.Kind.notice : .reconsent
        var after = try await writer.read { db in
            try Int64.fetchOne(
                db,
                sql: "SELECT coalesce(max(subscriptionId), 0) FROM outboxMessage WHERE termsChangeId = ? AND kind = ?",
                arguments: [changeId, kind.rawValue]
            ) ?? 0
        }
        var queued = 0
        while true {
            let start = after
            let (last, inserted) = try await writer.write { db -> (Int64?, Int) in
                let arguments: StatementArguments = [
                    "change": changeId, "kind": kind.rawValue, "now": StoreTime.value(now), "list": change.listId,
                    "after": start, "last": change.lastSubscriptionId, "batch": batchSize, "version": change.termsVersionId,
                ]
                let end = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT max(id) FROM (SELECT id FROM subscription
                        WHERE listId = :list AND status = 'active' AND id > :after AND id <= :last ORDER BY id LIMIT :batch)
                        """,
                    arguments: arguments
                )
                guard let end else { return (nil, 0) }
                var bounded = arguments
                bounded += ["end": end]
                let selected = """
                    FROM subscription WHERE listId = :list AND status = 'active' AND id > :after AND id <= :end
                      AND subscriberId NOT IN (SELECT id FROM subscriber WHERE restrictedAt IS NOT NULL)
                    """
                try db.execute(
                    sql: """
                        INSERT INTO outboxMessage (kind, subscriptionId, termsChangeId, status, dueAt, attempts, createdAt)
                        SELECT :kind, id, :change, 'queued', :now, 0, :now \(selected)
                        ON CONFLICT DO NOTHING
                        """,
                    arguments: bounded
                )
                let inserted = db.changesCount
                if change.kind == .notice {
                    try db.execute(
                        sql: """
                            INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source, termsVersionId)
                            SELECT id, 'notified', :now, 'notice', :version \(selected)
                              AND NOT EXISTS (SELECT 1 FROM consentEvent e WHERE e.subscriptionId = subscription.id
                                              AND e.kind = 'notified' AND e.termsVersionId = :version)
                            """,
                        arguments: bounded
                    )
                }
                return (end, inserted)
            }
            guard let last else { break }
            queued += inserted
            after = last
        }
        try await writer.write { db in
            try db.execute(sql: "UPDATE termsChange SET queuedAt = ? WHERE id = ? AND queuedAt IS NULL", arguments: [StoreTime.value(now), changeId])
        }
        return queued
    }

    public func latestTermsChange(listSlug: String, now: Date) async throws -> TermsChangeProgress? {
        let id = try await writer.read { db in
            let list = try Self.list(db, slug: listSlug)
            return try Int64.fetchOne(db, sql: "SELECT max(id) FROM termsChange WHERE listId = ?", arguments: [list.id])
        }
        guard let id else { return nil }
        return try await progress(of: id, now: now)
    }

    private func progress(of id: Int64, now: Date) async throws -> TermsChangeProgress? {
        try await writer.read { db in
            guard let change = try Self.termsChange(db, id: id) else { return nil }
            let slug = try String.fetchOne(db, sql: "SELECT slug FROM mailingList WHERE id = ?", arguments: [change.listId]) ?? ""
            let mail = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) FILTER (WHERE kind != 'reconsent-reminder' AND status = 'sent') AS mailed,
                           count(*) FILTER (WHERE kind != 'reconsent-reminder' AND (status = 'queued' OR status = 'leased')) AS waiting,
                           count(*) FILTER (WHERE kind != 'reconsent-reminder' AND (status = 'failed' OR status = 'skipped')) AS notSent,
                           count(*) FILTER (WHERE kind = 'reconsent-reminder' AND status = 'sent') AS reminded
                    FROM outboxMessage WHERE termsChangeId = ?
                    """,
                arguments: [id]
            )
            let ledger = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(DISTINCT e.subscriptionId) FILTER (WHERE e.kind = 'confirmed' AND s.id <= :last) AS accepted,
                           count(DISTINCT e.subscriptionId) FILTER (WHERE e.kind = 'lapsed') AS lapsed
                    FROM consentEvent e JOIN subscription s ON s.id = e.subscriptionId
                    WHERE e.termsVersionId = :version AND (e.kind = 'confirmed' OR e.kind = 'lapsed') AND s.listId = :list
                    """,
                arguments: ["last": change.lastSubscriptionId, "version": change.termsVersionId, "list": change.listId]
            )
            return TermsChangeProgress(
                change: change,
                listSlug: slug,
                mailed: mail?["mailed"] ?? 0,
                waiting: mail?["waiting"] ?? 0,
                notSent: mail?["notSent"] ?? 0,
                accepted: change.kind == .reconsent ? ledger?["accepted"] ?? 0 : 0,
                reminded: mail?["reminded"] ?? 0,
                lapsed: ledger?["lapsed"] ?? 0
            )
        }
    }

    public func reconsent(subscriptionId: Int64, changeId: Int64) async throws -> ReconsentContext? {
        try await writer.read { db in try Self.reconsent(db, subscriptionId: subscriptionId, changeId: changeId) }
    }

    private static func reconsent(_ db: Database, subscriptionId: Int64, changeId: Int64) throws -> ReconsentContext? {
        guard let change = try termsChange(db, id: changeId), change.kind == .reconsent,
            let subscription = try Subscription.fetchOne(db, key: subscriptionId),
            subscription.listId == change.listId, subscriptionId <= change.lastSubscriptionId,
            let list = try MailingList.fetchOne(db, key: change.listId),
            let terms = try publishedTerms(db, list: list, version: change.version)
        else { return nil }
        let accepted =
            try Bool.fetchOne(
                try db.cachedStatement(sql: OutboxDelivery.acceptedQuery("?1", "?2")),
                arguments: [subscriptionId, change.termsVersionId]
            ) ?? false
        return ReconsentContext(subscription: subscription, change: change, terms: terms, accepted: accepted)
    }

    public func acceptReconsent(
        subscriptionId: Int64,
        changeId: Int64,
        language: Language,
        origin: RequestOrigin,
        now: Date
    ) async throws -> ReconsentContext {
        try await writer.write { db in
            guard var context = try Self.reconsent(db, subscriptionId: subscriptionId, changeId: changeId) else {
                throw ConfirmationService.LinkError.noLongerValid
            }
            if try context.standing() { return context }
            let shown = context.terms.text(in: language).terms
            var event = ConsentEvent(
                subscriptionId: subscriptionId,
                kind: .confirmed,
                occurredAt: now,
                ip: origin.ip,
                userAgent: origin.userAgent,
                source: "reconsent",
                termsVersionId: context.change.termsVersionId,
                termsSHA256: shown.sha256
            )
            try event.insert(db)
            var audit = AuditEvent(
                occurredAt: now,
                actor: origin.actor,
                action: "subscription.reconsented",
                subscriberId: context.subscription.subscriberId,
                listId: context.change.listId,
                detail: "terms v\(context.change.version)"
            )
            try audit.insert(db)
            context.accepted = true
            return context
        }
    }

    public func nextTermsDeadline() async throws -> Date? {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(TermsChange.selection) WHERE c.closedAt IS NULL")
                .compactMap { try TermsChange(row: $0).nextMoment }.min()
        }
    }

    public func applyTermsDeadlines(now: Date, batchSize: Int) async throws -> TermsDeadlineReport {
        var report = TermsDeadlineReport()
        let open = try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(TermsChange.selection) WHERE c.closedAt IS NULL ORDER BY c.id").map(TermsChange.init(row:))
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
                report.closed += try await writer.write { db in
                    try db.execute(
                        sql: "UPDATE termsChange SET closedAt = ? WHERE id = ? AND closedAt IS NULL",
                        arguments: [StoreTime.value(now), id]
                    )
                    let closed = db.changesCount
                    // Requests and reminders not sent by now would ask for what can no longer be given.
                    try db.execute(
                        sql: """
                            UPDATE outboxMessage SET status = 'skipped', lastReply = 're-consent closed', leaseExpiresAt = NULL
                            WHERE termsChangeId = ? AND status = 'queued'
                            """,
                        arguments: [id]
                    )
                    return closed
                }
            } else if now >= reminderAt, change.remindedAt == nil {
                report.reminded += try await remind(change, now: now, batchSize: batchSize)
            }
        }
        return report
    }

    /// Closes a notice once none of its mail waits; 1 when it did.
    private func closeNoticeIfSent(_ id: Int64, now: Date) async throws -> Int {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE termsChange SET closedAt = ? WHERE id = ? AND closedAt IS NULL AND queuedAt IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM outboxMessage WHERE termsChangeId = termsChange.id
                                      AND (status = 'queued' OR status = 'leased'))
                    """,
                arguments: [StoreTime.value(now), id]
            )
            return db.changesCount
        }
    }

    /// Queues the one reminder to those who have not answered, in batches,
    /// each insert naming its change so that no one is reminded twice.
    private func remind(_ change: TermsChange, now: Date, batchSize: Int) async throws -> Int {
        let id = try change.id.orThrow()
        var after: Int64 = 0
        var queued = 0
        while true {
            let start = after
            let (last, inserted) = try await writer.write { db -> (Int64?, Int) in
                let arguments: StatementArguments = [
                    "change": id, "now": StoreTime.value(now), "list": change.listId, "last": change.lastSubscriptionId,
                    "version": change.termsVersionId, "after": start, "batch": batchSize,
                ]
                let end = try Int64.fetchOne(
                    db,
                    sql:
                        "SELECT max(id) FROM (SELECT s.id FROM subscription s WHERE \(Self.unanswered) AND s.id > :after ORDER BY s.id LIMIT :batch)",
                    arguments: arguments
                )
                guard let end else { return (nil, 0) }
                var bounded = arguments
                bounded += ["end": end]
                try db.execute(
                    sql: """
                        INSERT INTO outboxMessage (kind, subscriptionId, termsChangeId, status, dueAt, attempts, createdAt)
                        SELECT 'reconsent-reminder', s.id, :change, 'queued', :now, 0, :now FROM subscription s
                        WHERE \(Self.unanswered) AND s.id > :after AND s.id <= :end
                        ON CONFLICT DO NOTHING
                        """,
                    arguments: bounded
                )
                return (end, db.changesCount)
            }
            guard let last else { break }
            queued += inserted
            after = last
        }
        try await writer.write { db in
            try db.execute(sql: "UPDATE termsChange SET remindedAt = ? WHERE id = ? AND remindedAt IS NULL", arguments: [StoreTime.value(now), id])
        }
        return queued
    }

    /// Ends, in batches, every subscription the change still waits for:
    /// status `lapsed` (the webhook's trigger hears it), a ledger entry naming
    /// the version not accepted, an audit row.
    private func lapse(_ change: TermsChange, now: Date, batchSize: Int) async throws -> Int {
        var lapsed = 0
        // Where the last batch ended: each reads on from there in id order.
        var after: Int64 = 0
        while true {
            let start = after
            let (count, last) = try await writer.write { db -> (Int, Int64?) in
                let arguments: StatementArguments = [
                    "list": change.listId, "last": change.lastSubscriptionId, "version": change.termsVersionId, "batch": batchSize,
                    "now": StoreTime.value(now), "detail": "terms v\(change.version) not accepted by the deadline", "after": start,
                ]
                try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS lapsing (id INTEGER PRIMARY KEY, subscriberId INTEGER NOT NULL)")
                try db.execute(sql: "DELETE FROM lapsing")
                try db.execute(
                    sql: """
                        INSERT INTO lapsing SELECT s.id, s.subscriberId FROM subscription s
                        WHERE \(Self.unanswered) AND s.id > :after ORDER BY s.id LIMIT :batch
                        """,
                    arguments: arguments
                )
                let count = db.changesCount
                guard count > 0 else { return (0, nil) }
                let last = try Int64.fetchOne(db, sql: "SELECT max(id) FROM lapsing")
                try db.execute(
                    sql: """
                        UPDATE subscription SET status = 'lapsed', endedAt = :now, updatedAt = :now WHERE id IN (SELECT id FROM lapsing);
                        INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source, termsVersionId)
                        SELECT id, 'lapsed', :now, 'reconsent', :version FROM lapsing;
                        INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                        SELECT :now, 'deadline', 'subscription.lapsed', subscriberId, :list, :detail FROM lapsing;
                        DELETE FROM lapsing;
                        """,
                    arguments: arguments
                )
                return (count, last)
            }
            lapsed += count
            guard count == batchSize, let last else { return lapsed }
            after = last
        }
    }
}
