import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: SubscriberStore {
    public func subscriber(address: EmailAddress) async throws -> Subscriber? {
        try await writer.read { db in
            try Subscriber.filter(Column("addressKey") == address.key && Column("erasedAt") == nil).fetchOne(db)
        }
    }

    public func subscriber(id: Int64) async throws -> Subscriber? {
        try await writer.read { db in try Self.livingSubscriber(db, id: id) }
    }

    public func restrict(subscriberId: Int64, _ restriction: Restriction, actor: String, now: Date) async throws -> Bool {
        try await writer.write { db in
            guard var subscriber = try Self.livingSubscriber(db, id: subscriberId) else { throw KuvertError.unknownSubscriber }
            let event: String
            switch restriction {
            case .restricted(let reason):
                guard subscriber.restrictedAt == nil else { return false }
                subscriber.restrictedAt = now
                subscriber.restrictionReason = reason
                event = "subscriber.restricted"
                try db.execute(
                    sql: """
                        UPDATE outboxMessage SET status = 'skipped', lastReply = ?
                        WHERE status = 'queued' AND kind != 'privacy'
                          AND subscriptionId IN (SELECT id FROM subscription WHERE subscriberId = ?)
                        """,
                    arguments: [MessageComposer.restricted, subscriberId]
                )
            case .lifted:
                guard subscriber.restrictedAt != nil else { return false }
                subscriber.restrictedAt = nil
                subscriber.restrictionReason = nil
                event = "subscriber.unrestricted"
            }
            try subscriber.update(db)
            var audit = AuditEvent(occurredAt: now, actor: actor, action: event, subscriberId: subscriberId)
            try audit.insert(db)
            try Self.queueSubscriberWebhook(db, event: event, subscriberId: subscriberId, fields: nil, now: now)
            return true
        }
    }

    public func rectify(subscriberId: Int64, _ change: Rectification, actor: String, now: Date) async throws -> [String] {
        try await writer.write { db in
            guard try Self.livingSubscriber(db, id: subscriberId) != nil else { throw KuvertError.unknownSubscriber }
            return try Self.rectify(db, subscriberId: subscriberId, change, actor: actor, now: now)
        }
    }

    /// `rectify` within a transaction of the caller's.
    static func rectify(_ db: Database, subscriberId: Int64, _ change: Rectification, actor: String, now: Date) throws -> [String] {
        let subscriptions = try Subscription.filter(Column("subscriberId") == subscriberId).fetchAll(db)
        let changed = Set(subscriptions.flatMap(change.changes(from:)))
        let fields = ["name", "locale"].filter(changed.contains)
        guard !fields.isEmpty else { return [] }
        for var subscription in subscriptions where !change.changes(from: subscription).isEmpty {
            if let name = change.name { subscription.name = name.isEmpty ? nil : name }
            if let language = change.language { subscription.language = language }
            subscription.updatedAt = now
            try subscription.update(db)
        }
        let detail = fields.joined(separator: ", ")
        var audit = AuditEvent(occurredAt: now, actor: actor, action: "subscriber.rectified", subscriberId: subscriberId, detail: detail)
        try audit.insert(db)
        try queueSubscriberWebhook(db, event: "subscriber.updated", subscriberId: subscriberId, fields: fields, now: now)
        return fields
    }

    static func livingSubscriber(_ db: Database, id: Int64) throws -> Subscriber? {
        try Subscriber.filter(Column("id") == id && Column("erasedAt") == nil).fetchOne(db)
    }

    /// A change to the person, reported once per subscription they have (the
    /// webhook's events name a subscription and its list), when webhooks are on.
    static func queueSubscriberWebhook(_ db: Database, event: String, subscriberId: Int64, fields: [String]?, now: Date) throws {
        try db.execute(
            sql: """
                INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt, fields)
                SELECT :event, id, listId, :now, 'queued', :now, :fields FROM subscription
                WHERE subscriberId = :subscriber AND (SELECT enabled FROM webhookSetting WHERE id = 1) = 1
                """,
            arguments: [
                "event": event, "now": StoreTime.value(now), "fields": fields?.joined(separator: ","), "subscriber": subscriberId,
            ]
        )
    }
}
