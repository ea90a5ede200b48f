import Foundation

/// One message that reached a bounce address, as stored: what it said about
/// which outbox message, and what that changed. Kept for
/// `KUVERT_MESSAGE_RETENTION`, like the message records; erasure removes the
/// diagnostic (it may quote the address) and keeps the rest.
public struct BounceEvent: Sendable, Equatable, Codable {
    /// What a report changed.
    public enum Outcome: String, Sendable, Codable {
        /// The subscription is `bounced`.
        case bounced
        /// One more permanent failure in a row, short of the limit.
        case counted
        /// The subscription ended: the person complained.
        case unsubscribed
        /// Nothing: the report says nothing of the mailbox, or the
        /// subscription had ended, or was erased, or its message is gone.
        case unchanged
        /// Nothing, and nothing stored: a sending service reported this
        /// event before (`providerEvent`). Never stored.
        case duplicate
    }

    public var id: Int64?
    public var receivedAt: Date
    /// The outbox message the bounce address named; nil once message retention removed it.
    public var outboxMessageId: Int64?
    public var subscriptionId: Int64?
    public var kind: BounceKind
    /// The RFC 3463 status code, for delivery status notifications.
    public var status: String?
    /// The DSN's `Action`, or the feedback type of a complaint.
    public var action: String?
    /// The DSN's `Diagnostic-Code`, or the subject of an unrecognised message;
    /// one line of at most 300 characters.
    public var diagnostic: String?
    public var outcome: Outcome
    /// `provider:event` for an event a sending service reported by webhook
    /// (`BounceWebhooks`): the same event twice is stored once. Nil for
    /// reports that came by mail.
    public var providerEvent: String?

    public init(
        id: Int64? = nil,
        receivedAt: Date,
        outboxMessageId: Int64?,
        subscriptionId: Int64?,
        kind: BounceKind,
        status: String?,
        action: String?,
        diagnostic: String?,
        outcome: Outcome,
        providerEvent: String? = nil
    ) {
        self.id = id
        self.receivedAt = receivedAt
        self.outboxMessageId = outboxMessageId
        self.subscriptionId = subscriptionId
        self.kind = kind
        self.status = status
        self.action = action
        self.diagnostic = diagnostic
        self.outcome = outcome
        self.providerEvent = providerEvent
    }

    /// The event a report makes, before the store knows its subscription and outcome.
    public init(report: BounceReport, messageId: Int64, receivedAt: Date) {
        var status: String?
        var action: String?
        var diagnostic: String?
        switch report {
        case .deliveryStatus(let code, let dsnAction, let text): (status, action, diagnostic) = (code, dsnAction, text)
        case .complaint(let feedbackType), .feedback(let feedbackType): action = feedbackType
        case .autoReply: break
        case .unrecognised(let subject): diagnostic = subject
        }
        self.init(
            receivedAt: receivedAt,
            outboxMessageId: messageId,
            subscriptionId: nil,
            kind: BouncePolicy.kind(of: report),
            status: status,
            action: action,
            diagnostic: diagnostic,
            outcome: .unchanged
        )
    }
}

/// A bounce event as `kuvert bounces` lists it: with the address and list it
/// concerns, when they are still known.
public struct BounceListing: Sendable {
    public var event: BounceEvent
    public var address: String?
    public var listSlug: String?

    public init(event: BounceEvent, address: String?, listSlug: String?) {
        self.event = event
        self.address = address
        self.listSlug = listSlug
    }
}

extension BounceEvent {
    /// The audit log's line for this event: kind, status, message, outcome; no address.
    public var auditDetail: String {
        [kind.rawValue, status, outboxMessageId.map { "message #\($0)" }, outcome.rawValue].compactMap(\.self)
            .joined(separator: " ")
    }
}
