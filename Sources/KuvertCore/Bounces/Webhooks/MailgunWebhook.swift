import Crypto
import Foundation

/// Mailgun's webhooks (`failed`, `complained`): `{"signature": {timestamp,
/// token, signature}, "event-data": {…}}`, signed with the HTTP webhook
/// signing key as hex HMAC-SHA256 of the timestamp and the token. Mailgun
/// keeps the Message-ID Kuvert set and echoes it in `message.headers`.
struct MailgunWebhook: BounceWebhookReader {
    let signingKey: SymmetricKey
    /// How far a signature's time may lie from now: Mailgun retries for hours.
    static let tolerance: TimeInterval = 86_400

    struct Post: Decodable {
        var signature: Signature?
        var eventData: EventData?

        enum CodingKeys: String, CodingKey {
            case signature
            case eventData = "event-data"
        }
    }

    struct Signature: Decodable {
        var timestamp: String
        var token: String
        var signature: String
    }

    struct EventData: Decodable {
        var id: String?
        var event: String?
        var severity: String?
        var reason: String?
        var deliveryStatus: DeliveryStatus?
        var message: Message?

        enum CodingKeys: String, CodingKey {
            case id, event, severity, reason, message
            case deliveryStatus = "delivery-status"
        }
    }

    struct DeliveryStatus: Decodable {
        var code: Int?
        var message: String?
        var description: String?
        var enhancedCode: String?

        enum CodingKeys: String, CodingKey {
            case code, message, description
            case enhancedCode = "enhanced-code"
        }
    }

    struct Message: Decodable {
        var headers: [String: String]?
    }

    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent] {
        // The signature is in the body: a body that is no JSON carries none.
        let post: Post
        do { post = try JSONDecoder().decode(Post.self, from: Data(request.body)) } catch {
            throw .unauthorized("A Mailgun webhook carries its signature in a JSON body; this one has none.")
        }
        guard let signature = post.signature else { throw .unauthorized("The Mailgun event has no signature.") }
        try check(signature, now: request.receivedAt)
        guard let data = post.eventData, let event = data.event, let id = data.id else {
            throw .malformed("A Mailgun event names its event and id in event-data.")
        }
        let status = data.deliveryStatus
        let diagnostic = [status?.code.map(String.init), status?.enhancedCode, status?.message, status?.description]
            .compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: " ")
        let kind: BounceKind
        switch (event, data.reason) {
        case ("complained", _), ("failed", "suppress-complaint"): kind = .complaint
        case ("failed", "suppress-bounce"): kind = .hard
        case ("failed", "suppress-unsubscribe"): kind = .ignored
        case ("failed", _) where data.severity == "temporary": kind = .transient
        case ("failed", _): kind = BounceWebhookEvent.kind(status: status?.enhancedCode, diagnostic: diagnostic, otherwise: .soft)
        default: return []
        }
        return [
            BounceWebhookEvent(
                key: "mailgun:\(id)",
                message: data.message?.headers?["message-id"],
                kind: kind,
                status: status?.enhancedCode.flatMap { BounceReport.statusCode(in: $0) },
                action: [event, data.severity, data.reason].compactMap(\.self).joined(separator: "/"),
                diagnostic: diagnostic.isEmpty ? nil : diagnostic
            )
        ]
    }

    private func check(_ signature: Signature, now: Date) throws(BounceWebhookError) {
        guard let time = TimeInterval(signature.timestamp), abs(now.timeIntervalSince1970 - time) <= Self.tolerance else {
            throw .unauthorized("The Mailgun signature's timestamp is not within a day of now.")
        }
        guard let given = [UInt8](hex: signature.signature),
            HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data((signature.timestamp + signature.token).utf8), using: signingKey)
        else { throw .unauthorized("The Mailgun signature is not that of \(BounceWebhookProvider.mailgun.variable).") }
    }
}
