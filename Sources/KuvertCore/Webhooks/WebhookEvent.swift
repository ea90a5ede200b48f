import Crypto
import Foundation

/// A change Kuvert reports to the webhook: one row of the webhook outbox,
/// queued by the store in the transaction of the change.
public struct WebhookEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case confirmed = "subscription.confirmed"
        case unsubscribed = "subscription.unsubscribed"
        case bounced = "subscription.bounced"
        /// The person did not accept a list's new terms by the deadline.
        case lapsed = "subscription.lapsed"
        /// The person was erased; reported without an address.
        case erased = "subscriber.erased"
        /// The person's name or language was corrected; `fields` names which.
        case updated = "subscriber.updated"
        /// The person restricted processing: send them nothing.
        case restricted = "subscriber.restricted"
        case unrestricted = "subscriber.unrestricted"
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
    /// For `subscriber.updated`: the names of the fields that changed, never a value.
    public var fields: [String]?

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
        lastReply: String? = nil,
        fields: [String]? = nil
    ) {
        self.fields = fields
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

    /// The body POSTed: `{"event","at","list","subscription","email","fields"}`,
    /// keys sorted, `email` left out when there is none to tell and `fields`
    /// but for `subscriber.updated`.
    public func body() -> Data {
        struct Body: Encodable {
            var event: String
            var at: Date
            var list: String
            var subscription: Int64
            var email: String?
            var fields: [String]?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let email = kind == .erased ? nil : address.flatMap { $0.isEmpty ? nil : $0 }
        // Encoding strings, numbers and a date cannot fail.
        return
            (try? encoder.encode(
                Body(event: kind.rawValue, at: occurredAt, list: listSlug, subscription: subscriptionId, email: email, fields: fields)
            ))
            ?? Data()
    }
}

extension WebhookEvent {
    /// The stored form of `fields`: names joined by commas.
    public static func fields(_ stored: String?) -> [String]? {
        stored.map { $0.split(separator: ",").map(String.init) }
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
