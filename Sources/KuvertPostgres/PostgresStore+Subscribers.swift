import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: SubscriberStore {
    public func subscriber(address: EmailAddress) async throws -> Subscriber? {
        try await connection { c in
            try await c.rows(
                "SELECT \(unescaped: Subscriber.select("p")) FROM subscriber p WHERE p.addressKey = \(address.key) AND p.erasedAt IS NULL"
            ).first.map { try Subscriber($0, "p") }
        }
    }

    public func subscriber(id: Int64) async throws -> Subscriber? {
        try await connection { c in try await Self.livingSubscriber(c, id: id, locking: false) }
    }

    public func restrict(subscriberId: Int64, _ restriction: Restriction, actor: String, now: Date) async throws -> Bool {
        try await transaction { c in
            guard let subscriber = try await Self.livingSubscriber(c, id: subscriberId, locking: true) else {
                throw KuvertError.unknownSubscriber
            }
            let event: String
            switch restriction {
            case .restricted(let reason):
                guard subscriber.restrictedAt == nil else { return false }
                event = "subscriber.restricted"
                try await c.run(
                    "UPDATE subscriber SET restrictedAt = \(now), restrictionReason = \(reason) WHERE id = \(subscriberId)"
                )
                try await c.run(
                    """
                    UPDATE outboxMessage SET status = 'skipped', lastReply = \(MessageComposer.restricted)
                    WHERE status = 'queued' AND kind != 'privacy'
                      AND subscriptionId IN (SELECT id FROM subscription WHERE subscriberId = \(subscriberId))
                    """
                )
            case .lifted:
                guard subscriber.restrictedAt != nil else { return false }
                event = "subscriber.unrestricted"
                try await c.run("UPDATE subscriber SET restrictedAt = NULL, restrictionReason = NULL WHERE id = \(subscriberId)")
            }
            try await c.run(
                "INSERT INTO auditEvent (occurredAt, actor, action, subscriberId) VALUES (\(now), \(actor), \(event), \(subscriberId))"
            )
            try await Self.queueSubscriberWebhook(c, event: event, subscriberId: subscriberId, fields: nil, now: now)
            return true
        }
    }

    public func rectify(subscriberId: Int64, _ change: Rectification, actor: String, now: Date) async throws -> [String] {
        try await transaction { c in
            guard try await Self.livingSubscriber(c, id: subscriberId, locking: true) != nil else {
                throw KuvertError.unknownSubscriber
            }
            return try await Self.rectify(c, subscriberId: subscriberId, change, actor: actor, now: now)
        }
    }

    /// `rectify` within a transaction of the caller's.
    static func rectify(
        _ c: PostgresConnection,
        subscriberId: Int64,
        _ change: Rectification,
        actor: String,
        now: Date
    ) async throws
        -> [String]
    {
        let subscriptions = try await c.rows(
            "SELECT \(unescaped: Subscription.select("s")) FROM subscription s WHERE s.subscriberId = \(subscriberId) FOR UPDATE"
        ).map { try Subscription($0, "s") }
        let changed = Set(subscriptions.flatMap(change.changes(from:)))
        let fields = ["name", "locale"].filter(changed.contains)
        guard !fields.isEmpty else { return [] }
        let renames = change.name != nil
        let name = change.name.flatMap { $0.isEmpty ? nil : $0 }
        try await c.run(
            """
            UPDATE subscription SET
                name = CASE WHEN \(renames) THEN \(name) ELSE name END,
                language = coalesce(\(change.language?.rawValue), language),
                updatedAt = \(now)
            WHERE subscriberId = \(subscriberId)
              -- Only the subscriptions that change, as SQLite's: the manage page reads the latest changed.
              AND ((\(renames) AND name IS DISTINCT FROM \(name))
                   OR (\(change.language?.rawValue)::text IS NOT NULL AND language != \(change.language?.rawValue)))
            """
        )
        try await c.run(
            """
            INSERT INTO auditEvent (occurredAt, actor, action, subscriberId, detail)
            VALUES (\(now), \(actor), 'subscriber.rectified', \(subscriberId), \(fields.joined(separator: ", ")))
            """
        )
        try await queueSubscriberWebhook(c, event: "subscriber.updated", subscriberId: subscriberId, fields: fields, now: now)
        return fields
    }

    static func livingSubscriber(_ c: PostgresConnection, id: Int64, locking: Bool) async throws -> Subscriber? {
        try await c.rows(
            """
            SELECT \(unescaped: Subscriber.select("p")) FROM subscriber p WHERE p.id = \(id) AND p.erasedAt IS NULL
            \(unescaped: locking ? "FOR UPDATE" : "")
            """
        ).first.map { try Subscriber($0, "p") }
    }

    /// A change to the person, once per subscription they have, as SQLite's.
    static func queueSubscriberWebhook(
        _ c: PostgresConnection,
        event: String,
        subscriberId: Int64,
        fields: [String]?,
        now: Date
    ) async throws {
        try await c.run(
            """
            INSERT INTO webhookEvent (event, subscriptionId, listId, occurredAt, status, dueAt, fields)
            SELECT \(event), id, listId, \(now), 'queued', \(now), \(fields?.joined(separator: ",")) FROM subscription
            WHERE subscriberId = \(subscriberId) AND (SELECT enabled FROM webhookSetting WHERE id = 1)
            """
        )
    }
}
