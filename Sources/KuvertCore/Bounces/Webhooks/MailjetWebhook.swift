import Foundation

/// Mailjet's event API: one event a POST, or an array when grouped,
/// authenticated by Basic credentials in the callback URL. Mailjet echoes
/// the custom ID Kuvert sets (`X-MJ-CustomID`, the message's tag) as `CustomID`.
struct MailjetWebhook: BounceWebhookReader {
    let credentials: WebhookCredentials

    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent] {
        try credentials.check(request, .mailjet)
        return try JSONFields.events(request.body, .mailjet, Self.event)
    }

    /// Mailjet's `error` values that say the address or its domain does not exist.
    static let gone: Set<String> = ["user unknown", "mailbox inactive", "invalid domain", "no mail host"]

    static func event(_ fields: JSONFields) throws(BounceWebhookError) -> BounceWebhookEvent? {
        guard let event = fields["event"] else { throw .malformed("Each Mailjet event names its event.") }
        let error = fields["error"]
        let related = fields["error_related_to"]
        let kind: BounceKind
        switch event {
        case "spam": kind = .complaint
        case "bounce" where !fields.flag("hard_bounce"): kind = .transient
        case "bounce", "blocked":
            switch error {
            case let error? where gone.contains(error): kind = .hard
            case "quota exceeded": kind = .soft
            case "spam reporter": kind = .complaint
            case "duplicate in campaign": kind = .ignored
            // Mailjet blocks an address that bounced hard before.
            case "preblocked": kind = .hard
            default: kind = related == "recipient" && event == "bounce" ? .soft : .policy
            }
        default: return nil
        }
        let message = fields["Message_GUID"] ?? fields["MessageID"]
        return BounceWebhookEvent(
            key: BounceWebhookEvent.key(.mailjet, [event, message, fields["time"]]),
            message: fields["CustomID"],
            kind: kind,
            status: nil,
            action: [event, related].compactMap(\.self).joined(separator: "/"),
            diagnostic: [error, fields["comment"]].compactMap(\.self).joined(separator: ": ")
        )
    }
}
