import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: AddressChangeStore {
    public func requestAddressChange(subscriberId: Int64, to address: EmailAddress, actor: String, now: Date) async throws {
        try await writer.write { db in
            guard var subscriber = try Self.livingSubscriber(db, id: subscriberId) else { throw KuvertError.unknownSubscriber }
            subscriber.newAddress = address.value
            subscriber.newAddressKey = address.key
            subscriber.newAddressNonce = RandomHex.make()
            subscriber.newAddressRequestedAt = now
            try subscriber.update(db)
            // The mail rides on one of the person's subscriptions, as every message does.
            try db.execute(
                sql: """
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                    SELECT 'address', min(id), 'queued', :now, 0, :now FROM subscription WHERE subscriberId = :id
                    """,
                arguments: ["now": StoreTime.value(now), "id": subscriberId]
            )
            var audit = AuditEvent(occurredAt: now, actor: actor, action: "subscriber.address-requested", subscriberId: subscriberId)
            try audit.insert(db)
        }
    }

    public func addressChange(subscriberId: Int64) async throws -> AddressChange? {
        try await writer.read { db in try Self.addressChange(db, subscriberId: subscriberId) }
    }

    public func applyAddressChange(
        subscriberId: Int64,
        nonce: String,
        window: TimeInterval,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> AddressChangeOutcome
    {
        try await writer.write { db in
            guard var subscriber = try Self.livingSubscriber(db, id: subscriberId),
                let change = try Self.addressChange(db, subscriberId: subscriberId), change.nonce == nonce
            else { return .noLongerValid }
            guard now.timeIntervalSince(change.requestedAt) < window else { return .expired }
            let old = subscriber.address
            let key = subscriber.newAddressKey
            (subscriber.newAddress, subscriber.newAddressKey, subscriber.newAddressNonce, subscriber.newAddressRequestedAt) = (nil, nil, nil, nil)
            if change.taken {
                try subscriber.update(db)
                return .taken
            }
            subscriber.address = change.newAddress
            subscriber.addressKey = try key.orThrow()
            try subscriber.update(db)
            try db.execute(
                sql: """
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source)
                    SELECT id, 'rectified', :now, :ip, :agent, :source FROM subscription WHERE subscriberId = :id;
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt, testRecipient)
                    SELECT 'address-notice', min(id), 'queued', :now, 0, :now, :old FROM subscription WHERE subscriberId = :id;
                    """,
                arguments: [
                    "now": StoreTime.value(now), "ip": origin.ip, "agent": origin.userAgent, "source": origin.source, "id": subscriberId,
                    "old": old,
                ]
            )
            var audit = AuditEvent(occurredAt: now, actor: origin.actor, action: "subscriber.address-changed", subscriberId: subscriberId)
            try audit.insert(db)
            try Self.queueSubscriberWebhook(db, event: "subscriber.updated", subscriberId: subscriberId, fields: ["email"], now: now)
            return .changed(newAddress: change.newAddress)
        }
    }

    static func addressChange(_ db: Database, subscriberId: Int64) throws -> AddressChange? {
        guard let subscriber = try livingSubscriber(db, id: subscriberId), let key = subscriber.newAddressKey else { return nil }
        let taken =
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM subscriber WHERE addressKey = ? AND id != ? AND erasedAt IS NULL)",
                arguments: [key, subscriberId]
            ) ?? false
        let language = try String.fetchOne(
            db,
            sql: "SELECT language FROM subscription WHERE subscriberId = ? ORDER BY updatedAt DESC, id DESC LIMIT 1",
            arguments: [subscriberId]
        ).flatMap(Language.init(rawValue:))
        return AddressChange(subscriber, taken: taken, language: language)
    }
}
