import Foundation

/// Postmark's bounce and spam complaint webhooks: one JSON record a POST
/// (`RecordType` `Bounce` or `SpamComplaint`), authenticated by the Basic
/// credentials in the webhook's URL. Postmark echoes the message's metadata,
/// where Kuvert put the message's tag (`X-PM-Metadata-kuvert-message`).
struct PostmarkWebhook: BounceWebhookReader {
    let credentials: WebhookCredentials

    struct Record: Decodable {
        var RecordType: String?
        var ID: Int64?
        var `Type`: String?
        var Details: String?
        var Description: String?
        var Metadata: [String: String]?
    }

    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent] {
        try credentials.check(request, .postmark)
        let record = try request.decode(Record.self, .postmark)
        guard let recordType = record.RecordType else { throw .malformed("A Postmark record names its RecordType.") }
        guard ["Bounce", "SpamComplaint"].contains(recordType) else { return [] }
        guard let id = record.ID else { throw .malformed("A Postmark \(recordType) record has an ID.") }
        let type = record.Type ?? recordType
        let diagnostic = record.Details.flatMap { $0.isEmpty ? nil : $0 } ?? record.Description
        return [
            BounceWebhookEvent(
                key: "postmark:\(recordType):\(id)",
                message: record.Metadata?["kuvert-message"],
                kind: Self.kind(type: type, diagnostic: diagnostic),
                status: nil,
                action: type,
                diagnostic: diagnostic
            )
        ]
    }

    /// Postmark's bounce types (its "Bounce types" reference), with the
    /// reply's code and words deciding where it quotes one.
    static func kind(type: String, diagnostic: String?) -> BounceKind {
        switch type {
        case "SpamComplaint": .complaint
        case "AutoResponder": .autoReply
        case "HardBounce", "BadEmailAddress": BounceWebhookEvent.kind(status: nil, diagnostic: diagnostic, otherwise: .hard)
        case "SoftBounce": BounceWebhookEvent.kind(status: nil, diagnostic: diagnostic, otherwise: .soft)
        case "Transient", "DnsError": .transient
        case "Blocked", "DMARCPolicy", "SpamNotification", "VirusNotification", "ContentRelated":
            BounceWebhookEvent.kind(status: nil, diagnostic: diagnostic, otherwise: .policy)
        default: .ignored
        }
    }
}
