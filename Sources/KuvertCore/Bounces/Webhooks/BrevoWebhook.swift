import Foundation

/// Brevo's transactional webhook: one event a POST (or an array, batched),
/// authenticated by Basic credentials in the webhook's URL or a bearer token.
/// Brevo keeps the Message-ID Kuvert set and echoes it as `message-id`.
struct BrevoWebhook: BounceWebhookReader {
    let credentials: WebhookCredentials

    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent] {
        try credentials.check(request, .brevo)
        return try JSONFields.events(request.body, .brevo, Self.event)
    }

    static func event(_ fields: JSONFields) throws(BounceWebhookError) -> BounceWebhookEvent? {
        guard let event = fields["event"] else { throw .malformed("Each Brevo event names its event.") }
        let reason = fields["reason"]
        let kind: BounceKind
        switch event {
        case "spam", "complaint": kind = .complaint
        case "hard_bounce": kind = BounceWebhookEvent.kind(status: nil, diagnostic: reason, otherwise: .hard)
        case "invalid_email": kind = .hard
        case "soft_bounce": kind = BounceWebhookEvent.kind(status: nil, diagnostic: reason, otherwise: .soft)
        case "deferred": kind = .transient
        case "blocked": kind = BounceWebhookEvent.kind(status: nil, diagnostic: reason, otherwise: .policy)
        case "error": kind = .ignored
        default: return nil
        }
        let message = fields["message-id"]
        // Brevo's events carry no id of their own: the message, the event and its time make one.
        return BounceWebhookEvent(
            key: BounceWebhookEvent.key(.brevo, [event, message, fields["ts_event"] ?? fields["ts"] ?? fields["date"]]),
            message: message,
            kind: kind,
            status: nil,
            action: event,
            diagnostic: reason
        )
    }
}
