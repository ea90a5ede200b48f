import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: PreferenceStore {
    public func preferences(subscriberId: Int64) async throws -> Preferences? {
        try await connection { c in try await Self.preferences(c, subscriberId: subscriberId, locking: false) }
    }

    public func savePreferences(
        subscriberId: Int64,
        _ change: PreferenceChange,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> PreferenceOutcome
    {
        try await transaction { c in
            guard let before = try await Self.preferences(c, subscriberId: subscriberId, locking: true) else {
                throw KuvertError.unknownSubscriber
            }
            let plan = try PreferencePlan(before, change)
            if !plan.changedTerms.isEmpty { return .termsChanged(slugs: plan.changedTerms) }
            func record(_ kind: ConsentEvent.Kind, subscriptionId: Int64, listId: Int64, terms: TermsVersion? = nil) async throws {
                let action = kind == .confirmed ? "subscription.confirmed" : "subscription.withdrawn"
                let detail = terms.map { "terms v\($0.version), \(origin.source)" } ?? origin.source
                try await c.run(
                    """
                    WITH consent AS (
                        INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source, termsVersionId, termsSHA256)
                        VALUES (\(subscriptionId), \(kind.rawValue), \(now), \(origin.ip), \(origin.userAgent), \(origin.source),
                                \(terms?.id), \(terms?.sha256))
                    )
                    INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, listId, detail)
                    VALUES (\(now), \(origin.actor), \(action), \(subscriberId), \(listId), \(detail))
                    """
                )
            }
            for entry in plan.leaving {
                let listId = try entry.list.id.orThrow()
                let id = try await c.value(
                    """
                    UPDATE subscription SET status = 'unsubscribed', endedAt = \(now), updatedAt = \(now)
                    WHERE subscriberId = \(subscriberId) AND listId = \(listId) RETURNING id
                    """,
                    as: Int64.self
                ).orThrow()
                try await record(.withdrawn, subscriptionId: id, listId: listId)
            }
            var welcomed = false
            for entry in plan.joining {
                let listId = try entry.list.id.orThrow()
                var id = try await c.value(
                    "SELECT id FROM subscription WHERE subscriberId = \(subscriberId) AND listId = \(listId)",
                    as: Int64.self
                )
                if id == nil {
                    let created = try await c.value(
                        """
                        INSERT INTO subscription (subscriberId, listId, status, name, language, confirmNonce, requestedAt, updatedAt)
                        VALUES (\(subscriberId), \(listId), 'pending', \(before.name), \(before.language.rawValue), \(RandomHex.make()),
                                \(now), \(now))
                        RETURNING id
                        """,
                        as: Int64.self
                    ).orThrow()
                    try await record(.requested, subscriptionId: created, listId: listId)
                    id = created
                }
                let subscriptionId = try id.orThrow()
                // Active through an update, as every confirmation is: the webhook's trigger hears it.
                try await c.run(
                    """
                    UPDATE subscription SET status = 'active', confirmedAt = \(now), endedAt = NULL, updatedAt = \(now)
                    WHERE id = \(subscriptionId)
                    """
                )
                try await record(.confirmed, subscriptionId: subscriptionId, listId: listId, terms: entry.terms)
                // One receipt names every list joined now.
                if !welcomed {
                    welcomed = true
                    try await c.run(
                        """
                        INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                        VALUES ('welcome', \(subscriptionId), 'queued', \(now), 0, \(now))
                        """
                    )
                }
            }
            let fields = try await Self.rectify(c, subscriberId: subscriberId, change.rectification, actor: origin.actor, now: now)
            return .saved(joined: plan.joining.map(\.list.slug), left: plan.leaving.map(\.list.slug), fields: fields)
        }
    }

    static func preferences(_ c: PostgresConnection, subscriberId: Int64, locking: Bool) async throws -> Preferences? {
        guard let subscriber = try await livingSubscriber(c, id: subscriberId, locking: locking) else { return nil }
        let subscriptions = try await c.rows(
            """
            SELECT \(unescaped: Subscription.select("s")) FROM subscription s
            WHERE s.subscriberId = \(subscriberId) ORDER BY s.updatedAt DESC, s.id DESC
            """
        ).map { try Subscription($0, "s") }
        let latest = subscriptions.first
        let rows = try await c.rows(
            """
            SELECT \(unescaped: MailingList.select("l")), \(unescaped: TermsVersion.select("t"))
            FROM mailingList l
            JOIN LATERAL (SELECT * FROM termsVersion WHERE listId = l.id ORDER BY version DESC LIMIT 1) t ON true
            ORDER BY l.id
            """
        )
        let language = try latest?.language ?? rows.first.map { try MailingList($0, "l").language } ?? .en
        var translations: [Int64: (body: String, sha256: String)] = [:]
        for row in try await c.rows(
            """
            SELECT termsVersionId, body, sha256 FROM termsTranslation
            WHERE language = \(language.rawValue)
              AND termsVersionId IN (SELECT max(id) FROM termsVersion GROUP BY listId)
            """
        ) {
            translations[try row["termsversionid"].decode(Int64.self)] = (
                try row["body"].decode(String.self), try row["sha256"].decode(String.self)
            )
        }
        let entries = try rows.map { row in
            let (list, terms) = (try MailingList(row, "l"), try TermsVersion(row, "t"))
            let shown = terms.shown(to: language, of: list, translation: terms.id.flatMap { translations[$0] })
            return Preferences.Entry(
                list: list,
                status: subscriptions.first { $0.listId == list.id }?.status,
                terms: shown.terms,
                termsLanguage: shown.language
            )
        }
        return Preferences(subscriber: subscriber, name: latest?.name, language: language, lists: entries)
    }
}
