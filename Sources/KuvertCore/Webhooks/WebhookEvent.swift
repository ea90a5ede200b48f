import Crypto
import Foundation

/// A change Kuvert reports to the webhook: one row of the webhook outbox,
/// queued by the store in the transaction of the change.
public struct WebhookEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case confirmed = "subscription.confirmed"
        case unsubscribed = "subscription.unsubscribed"
        case bounced = "subscription.bounced"
        /// The person was erased; reported without an address.
        case erased = "subscriber.erased"
    }

    public enum Status: String, Sendable, CaseIterable {
        case queued, leased, sent, failed
    }

    public var id: Int64
    public var kind: Kind
    public var subscriptionId: Int64
    public var listSlug: String
    public var occurredAt: Date
    /// The address as it is now, when the event is sent: nil once the person is
    /// erased, and never for `subscriber.erased`.
    public var address: String?
    public var status: Status
    public var attempts: Int
    public var dueAt: Date
    /// The receiver's last HTTP status or connection error.
    public var lastReply: String?

    /// Every field, as a store reads it from its rows.
    public init(
        id: Int64,
        kind: Kind,
        subscriptionId: Int64,
        listSlug: String,
        occurredAt: Date,
        address: String?,
        status: Status,
        attempts: Int,
        dueAt: Date,
        lastReply: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.subscriptionId = subscriptionId
        self.listSlug = listSlug
        self.occurredAt = occurredAt
        self.address = address
        self.status = status
        self.attempts = attempts
        self.dueAt = dueAt
        self.lastReply = lastReply
    }

    /// The body POSTed: `{"event","at","list","subscription","email"}`, keys
    /// sorted, `email` left out when there is none to tell.
    public func body() -> Data {
        struct Body: Encodable {
            var event: String
            var at: Date
            var list: String
            var subscription: Int64
            var email: String?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let email = kind == .erased ? nil : address.flatMap { $0.isEmpty ? nil : $0 }
        // Encoding strings, numbers and a date cannot fail.
        return (try? encoder.encode(Body(event: kind.rawValue, at: occurredAt, list: listSlug, subscription: subscriptionId, email: email)))
            ?? Data()
    }
}

/// `Kuvert-Signature: t=UNIXTIME,v1=HEX(HMAC-SHA256(secret, "UNIXTIME.BODY"))`.
public enum WebhookSignature {
    public static let header = "Kuvert-Signature"

    /// The header's value for `body` sent at `time`.
    public static func value(body: Data, secret: String, time: Date) -> String {
        let stamp = String(Int64(time.timeIntervalSince1970))
        var signed = Data(stamp.utf8)
        signed.append(UInt8(ascii: "."))
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(stamp),v1=" + Data(mac).lowercaseHex
    }
}
