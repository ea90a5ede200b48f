import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: PreferenceStore {
    public func preferences(subscriberId: Int64) async throws -> Preferences? {
        try await writer.read { db in try Self.preferences(db, subscriberId: subscriberId) }
    }

    public func savePreferences(
        subscriberId: Int64,
        _ change: PreferenceChange,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> PreferenceOutcome
    {
        try await writer.write { db in
            guard let before = try Self.preferences(db, subscriberId: subscriberId) else { throw KuvertError.unknownSubscriber }
            let plan = try PreferencePlan(before, change)
            if !plan.changedTerms.isEmpty { return .termsChanged(slugs: plan.changedTerms) }
            var subscriptions = Dictionary(
                try Subscription.filter(Column("subscriberId") == subscriberId).fetchAll(db).map { ($0.listId, $0) },
                uniquingKeysWith: { first, _ in first }
            )
            func record(_ kind: ConsentEvent.Kind, _ subscription: Subscription, terms: TermsVersion? = nil) throws {
                var consent = ConsentEvent(
                    subscriptionId: try subscription.id.orThrow(),
                    kind: kind,
                    occurredAt: now,
                    ip: origin.ip,
                    userAgent: origin.userAgent,
                    source: origin.source,
                    termsVersionId: terms?.id,
                    termsSHA256: terms?.sha256
                )
                try consent.insert(db)
                var audit = AuditEvent(
                    occurredAt: now,
                    actor: origin.actor,
                    action: kind == .confirmed ? "subscription.confirmed" : "subscription.withdrawn",
                    subscriberId: subscriberId,
                    listId: subscription.listId,
                    detail: terms.map { "terms v\($0.version), \(origin.source)" } ?? origin.source
                )
                try audit.insert(db)
            }
            for entry in plan.leaving {
                guard var subscription = subscriptions[try entry.list.id.orThrow()] else { continue }
                subscription.status = .unsubscribed
                subscription.endedAt = now
                subscription.updatedAt = now
                try subscription.update(db)
                try record(.withdrawn, subscription)
            }
            for entry in plan.joining {
                let listId = try entry.list.id.orThrow()
                var subscription =
                    subscriptions[listId]
                    ?? Subscription(
                        subscriberId: subscriberId,
                        listId: listId,
                        status: .pending,
                        name: before.name,
                        language: before.language,
                        confirmNonce: RandomHex.make(),
                        requestedAt: now,
                        updatedAt: now
                    )
                if subscription.id == nil {
                    try subscription.insert(db)
                    try record(.requested, subscription)
                }
                // Active through an update, as every confirmation is: the webhook's trigger hears it.
                subscription.status = .active
                subscription.confirmedAt = now
                subscription.endedAt = nil
                subscription.updatedAt = now
                try subscription.update(db)
                try record(.confirmed, subscription, terms: entry.terms)
                subscriptions[listId] = subscription
            }
            if let first = plan.joining.first, let id = subscriptions[try first.list.id.orThrow()]?.id {
                try Self.queueWelcome(db, subscriptionId: id, now: now)
            }
            let fields = try Self.rectify(db, subscriberId: subscriberId, change.rectification, actor: origin.actor, now: now)
            return .saved(joined: plan.joining.map(\.list.slug), left: plan.leaving.map(\.list.slug), fields: fields)
        }
    }

    static func preferences(_ db: Database, subscriberId: Int64) throws -> Preferences? {
        guard let subscriber = try livingSubscriber(db, id: subscriberId) else { return nil }
        let subscriptions = try Subscription.filter(Column("subscriberId") == subscriberId)
            .order(Column("updatedAt").desc, Column("id").desc).fetchAll(db)
        let latest = subscriptions.first
        let lists = try MailingList.order(Column("id")).fetchAll(db)
        let language = latest?.language ?? lists.first?.language ?? .en
        let entries = try lists.map { list in
            let terms = try currentTerms(db, listId: try list.id.orThrow())
            let shown = terms.shown(to: language, of: list, translation: try translation(db, of: terms.id, in: language))
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
