import Crypto
import Foundation

/// SendGrid's signed event webhook: a JSON array of events, signed with
/// ECDSA P-256 over the timestamp header followed by the body, verified with
/// the public key SendGrid shows (`KUVERT_BOUNCE_WEBHOOK_SENDGRID`, base64
/// DER). Events name Kuvert's message by the unique argument Kuvert sets in
/// `X-SMTPAPI` (`kuvert_message`), which SendGrid puts on every event, or by
/// `smtp-id`, the Message-ID.
struct SendGridWebhook: BounceWebhookReader {
    let key: P256.Signing.PublicKey
    /// How far the signature's time may lie from now.
    static let tolerance: TimeInterval = 86_400

    static let signatureHeader = "x-twilio-email-event-webhook-signature"
    static let timestampHeader = "x-twilio-email-event-webhook-timestamp"

    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent] {
        try check(request)
        return try JSONFields.events(request.body, .sendgrid, Self.event)
    }

    static func event(_ fields: JSONFields) throws(BounceWebhookError) -> BounceWebhookEvent? {
        guard let event = fields["event"] else { throw .malformed("Each SendGrid event names its event.") }
        let (status, reason, type) = (fields["status"], fields["reason"], fields["type"])
        let kind: BounceKind
        switch event {
        case "spamreport": kind = .complaint
        case "deferred": kind = .transient
        case "bounce":
            kind = BounceWebhookEvent.kind(status: status, diagnostic: reason, otherwise: type == "blocked" ? .policy : .soft)
        case "dropped":
            // Not sent: SendGrid's own lists hold the address.
            switch reason {
            case "Bounced Address", "Invalid": kind = .hard
            case "Spam Reporting Address": kind = .complaint
            default: kind = .ignored
            }
        default: return nil
        }
        guard let id = fields["sg_event_id"] else { throw .malformed("Each SendGrid \(event) event has an sg_event_id.") }
        return BounceWebhookEvent(
            key: "sendgrid:\(id)",
            message: fields["kuvert_message"] ?? fields["smtp-id"],
            kind: kind,
            status: status.flatMap { BounceReport.statusCode(in: $0) },
            action: [event, type].compactMap(\.self).joined(separator: "/"),
            diagnostic: reason
        )
    }

    private func check(_ request: BounceWebhookRequest) throws(BounceWebhookError) {
        guard let signature = request.headers[Self.signatureHeader], let timestamp = request.headers[Self.timestampHeader] else {
            throw .unauthorized("SendGrid events are signed: enable the signed event webhook and set \(BounceWebhookProvider.sendgrid.variable).")
        }
        guard let time = TimeInterval(timestamp), abs(request.receivedAt.timeIntervalSince1970 - time) <= Self.tolerance else {
            throw .unauthorized("The SendGrid signature's timestamp is not within a day of now.")
        }
        guard let der = Data(base64Encoded: signature), let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der),
            key.isValidSignature(parsed, for: Data(timestamp.utf8) + Data(request.body))
        else { throw .unauthorized("The SendGrid signature is not made by the key of \(BounceWebhookProvider.sendgrid.variable).") }
    }
}
