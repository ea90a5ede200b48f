import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: AddressChangeStore {
    public func requestAddressChange(subscriberId: Int64, to address: EmailAddress, actor: String, now: Date) async throws {
        try await transaction { c in
            guard try await Self.livingSubscriber(c, id: subscriberId, locking: true) != nil else { throw KuvertError.unknownSubscriber }
            try await c.run(
                """
                UPDATE subscriber SET newAddress = \(address.value), newAddressKey = \(address.key),
                    newAddressNonce = \(RandomHex.make()), newAddressRequestedAt = \(now)
                WHERE id = \(subscriberId)
                """
            )
            try await c.run(
                """
                WITH mail AS (
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt)
                    SELECT 'address', min(id), 'queued', \(now), 0, \(now) FROM subscription WHERE subscriberId = \(subscriberId)
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId)
                VALUES (\(now), \(actor), 'subscriber.address-requested', \(subscriberId))
                """
            )
        }
    }

    public func addressChange(subscriberId: Int64) async throws -> AddressChange? {
        try await connection { c in try await Self.addressChange(c, subscriberId: subscriberId, locking: false) }
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
        try await transaction { c in
            guard let change = try await Self.addressChange(c, subscriberId: subscriberId, locking: true), change.nonce == nonce else {
                return .noLongerValid
            }
            guard now.timeIntervalSince(change.requestedAt) < window else { return .expired }
            if change.taken {
                try await c.run(
                    """
                    UPDATE subscriber SET newAddress = NULL, newAddressKey = NULL, newAddressNonce = NULL, newAddressRequestedAt = NULL
                    WHERE id = \(subscriberId)
                    """
                )
                return .taken
            }
            try await c.run(
                """
                WITH old AS (SELECT address FROM subscriber WHERE id = \(subscriberId)), notice AS (
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, attempts, createdAt, testRecipient)
                    SELECT 'address-notice', min(id), 'queued', \(now), 0, \(now), (SELECT address FROM old)
                    FROM subscription WHERE subscriberId = \(subscriberId)
                )
                UPDATE subscriber SET address = newAddress, addressKey = newAddressKey,
                    newAddress = NULL, newAddressKey = NULL, newAddressNonce = NULL, newAddressRequestedAt = NULL
                WHERE id = \(subscriberId)
                """
            )
            try await c.run(
                """
                WITH ledger AS (
                    INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source)
                    SELECT id, 'rectified', \(now), \(origin.ip), \(origin.userAgent), \(origin.source) FROM subscription
                    WHERE subscriberId = \(subscriberId)
                )
                INSERT INTO auditEvent (occurredAt, actor, action, subscriberId)
                VALUES (\(now), \(origin.actor), 'subscriber.address-changed', \(subscriberId))
                """
            )
            try await Self.queueSubscriberWebhook(c, event: "subscriber.updated", subscriberId: subscriberId, fields: ["email"], now: now)
            return .changed(newAddress: change.newAddress)
        }
    }

    static func addressChange(_ c: PostgresConnection, subscriberId: Int64, locking: Bool) async throws -> AddressChange? {
        guard let subscriber = try await livingSubscriber(c, id: subscriberId, locking: locking), let key = subscriber.newAddressKey
        else { return nil }
        let taken =
            try await c.value(
                "SELECT EXISTS (SELECT 1 FROM subscriber WHERE addressKey = \(key) AND id != \(subscriberId) AND erasedAt IS NULL)",
                as: Bool.self
            ) ?? false
        let language = try await c.value(
            "SELECT language FROM subscription WHERE subscriberId = \(subscriberId) ORDER BY updatedAt DESC, id DESC LIMIT 1",
            as: String.self
        ).flatMap(Language.init(rawValue:))
        return AddressChange(subscriber, taken: taken, language: language)
    }
}
